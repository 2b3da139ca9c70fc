package aiproxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
)

// promptCache is the opt-in exact-match cache of answers, on the shared
// store. An entry is keyed by the route, the client's API, the consumer
// (unless shared) and the request in a normal form: its JSON decoded and
// encoded again with sorted keys and without the members that do not
// change the answer (user, metadata, store, service_tier). Only requests
// with temperature 0 are cached, unless any_temperature says otherwise.
type promptCache struct {
	ns             *store.Namespace
	ttl            time.Duration
	shared         bool
	anyTemperature bool
	maxEntry       int

	hits, misses, bypass, stores *atomic.Uint64
}

// The kinds of cached answers: the first byte of a value.
const (
	cachedJSON   = 'J'
	cachedStream = 'S'
)

func newPromptCache(spec plugin.Spec, cfg CacheConfig) *promptCache {
	if !cfg.Enabled {
		return nil
	}
	ns := spec.Namespace("ai-proxy")
	if ns == nil {
		return nil
	}
	return &promptCache{ns: ns, ttl: cfg.TTL.Std(), shared: cfg.Shared, anyTemperature: cfg.AnyTemperature,
		maxEntry: cfg.MaxEntrySize.Int(),
		hits:     ns.Counter("hits"), misses: ns.Counter("misses"), bypass: ns.Counter("bypass"), stores: ns.Counter("stores")}
}

// ignoredMembers do not change the answer.
var ignoredMembers = []string{"user", "metadata", "store", "service_tier"}

// key returns the cache key of a request, or nil when the request must
// not be cached (a temperature above 0 or unset, several choices, a body
// that is not a JSON object).
func (pc *promptCache) key(route string, client apiKind, c *plugin.Context, body []byte) []byte {
	if !pc.anyTemperature {
		t := rawjson.Get(body, "temperature")
		if t == nil || !isZeroNumber(t) {
			return nil
		}
	}
	if n := rawjson.Get(body, "n"); n != nil && !rawjson.IsNull(n) {
		if v, ok := rawjson.Int(n); !ok || v != 1 {
			return nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil || m == nil {
		return nil
	}
	for _, k := range ignoredMembers {
		delete(m, k)
	}
	norm, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	h := sha256.New()
	h.Write([]byte(route))
	h.Write([]byte{0, byte(client), 0})
	if !pc.shared {
		if cs := c.Consumer; cs != nil && !cs.Anonymous {
			h.Write([]byte(cs.Name))
		}
	}
	h.Write([]byte{0})
	h.Write(norm)
	return h.Sum(nil)
}

// isZeroNumber reports whether v is a JSON number equal to 0.
func isZeroNumber(v []byte) bool {
	for _, ch := range v {
		switch {
		case ch == '0' || ch == '.' || ch == '-' || ch == '+':
		case ch == 'e' || ch == 'E':
			return true // 0e5, 0.0E-3: the mantissa was all zeros
		default:
			return false
		}
	}
	return len(v) > 0
}

// get returns the cached answer of key: its kind and bytes.
func (pc *promptCache) get(key []byte) (kind byte, answer []byte, ok bool) {
	v, ok := pc.ns.Get(nil, key)
	if !ok || len(v) < 1 {
		return 0, nil, false
	}
	return v[0], v[1:], true
}

// put stores an answer of the given kind.
func (pc *promptCache) put(key []byte, kind byte, answer []byte) {
	if len(answer) > pc.maxEntry {
		return
	}
	v := make([]byte, 0, 1+len(answer))
	v = append(append(v, kind), answer...)
	pc.ns.Set(key, v, pc.ttl)
	pc.stores.Add(1)
}
