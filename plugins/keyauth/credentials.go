package keyauth

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/httpbytes"
)

// keys are the consumers' API keys, [[consumers]] keys: each a key, or
// "sha256:<64 hex digits>", its SHA-256, so that the key itself is in no
// file. Keys are held in memory as SHA-256 only, and a key identifies one
// consumer.
var keys = consumer.RegisterCredential("keys", newKeyIndex)

// keyIndex finds a consumer by the SHA-256 of its key. It may hold a
// million keys: each is a map entry and a keyOwner, and the Consumer a key
// authenticates is made the first time a request presents it.
type keyIndex struct {
	bySum map[[32]byte]uint32 // index in keys
	keys  []keyOwner
	first map[[32]byte]keyPlace // where each key was given, for duplicates; nil once finished
}

// keyPlace is where a key is given: keys[n] of the table at path.
type keyPlace struct {
	path string
	n    int
}

// keyOwner is the consumer of one key.
type keyOwner struct {
	owner *consumer.Owner
	n     int // the key's place in the owner's keys
	cons  atomic.Pointer[consumer.Consumer]
}

func newKeyIndex() *keyIndex {
	return &keyIndex{bySum: map[[32]byte]uint32{}, first: map[[32]byte]keyPlace{}}
}

// Add implements consumer.Index.
func (x *keyIndex) Add(owner *consumer.Owner, t config.Table) error {
	var v struct {
		Keys []config.Secret `toml:"keys"`
	}
	// What could be decoded is checked too: every problem at once.
	problems := config.AsProblemsOrNil(t.Decode(&v))
	for j, k := range v.Keys {
		kp := "keys[" + strconv.Itoa(j) + "]"
		if err := consumer.CheckSecret(t, kp, k); err != nil {
			problems = append(problems, config.AsProblems(err)...)
			continue
		}
		sum, ok := KeyHash(k.Value())
		if !ok {
			problems = append(problems, config.AsProblems(t.Problem(kp, `"sha256:" must be followed by 64 hex digits`))...)
			continue
		}
		if first, dup := x.first[sum]; dup {
			at := first.path + ".keys[" + strconv.Itoa(first.n) + "]"
			problems = append(problems, config.AsProblems(t.Problem(kp, "the same key is already given at "+at+": a key must identify one consumer"))...)
			continue
		}
		x.first[sum] = keyPlace{t.Path(), j}
		x.bySum[sum] = uint32(len(x.keys))
		x.keys = append(x.keys, keyOwner{owner: owner, n: j})
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// Finish implements consumer.Finisher: what only finds duplicates goes.
func (x *keyIndex) Finish() error {
	x.first = nil
	return nil
}

// byHash returns the consumer whose API key has SHA-256 sum, or nil. The
// first request with a key makes its Consumer; every later one gets the
// same, without allocating.
func (x *keyIndex) byHash(sum [32]byte) *consumer.Consumer {
	i, ok := x.bySum[sum]
	if !ok {
		return nil
	}
	k := &x.keys[i]
	if c := k.cons.Load(); c != nil {
		return c
	}
	c := k.owner.Consumer(k.owner.Name + ":key-auth:" + strconv.Itoa(k.n))
	if k.cons.CompareAndSwap(nil, c) {
		return c
	}
	return k.cons.Load()
}

// KeyHash returns the SHA-256 of an API key as written in [[consumers]]
// keys: the digest of the key, or the digest given as "sha256:<hex>".
// ok is false for a malformed "sha256:" value.
func KeyHash(key string) (sum [32]byte, ok bool) {
	if h, found := strings.CutPrefix(key, "sha256:"); found {
		if len(h) != 64 {
			return sum, false
		}
		for i := 0; i < 32; i++ {
			b, ok := httpbytes.HexByte(h[2*i], h[2*i+1])
			if !ok {
				return sum, false
			}
			sum[i] = b
		}
		return sum, true
	}
	return sha256.Sum256([]byte(key)), true
}
