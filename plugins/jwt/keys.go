package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/moongate/moongate/core/config"
)

// key is one verification key: static, or from the JWKS.
type key struct {
	kid string
	alg string // the only algorithm accepted with it; "" (JWKS without "alg"): any allowed that fits the key
	key any    // []byte, *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey
}

// keySet is an immutable set of keys, by kid ("" for keys without one).
type keySet struct {
	byKID map[string][]*key
	n     int
}

func newKeySet(keys []*key) *keySet {
	s := &keySet{byKID: map[string][]*key{}}
	for _, k := range keys {
		s.byKID[k.kid] = append(s.byKID[k.kid], k)
		s.n++
	}
	return s
}

// maxJWKSSize bounds a JWKS document.
const maxJWKSSize = 1 << 20

// parseJWKS reads a JWK Set (RFC 7517). Keys that cannot verify
// signatures (encryption keys, unknown types, private parts) are skipped,
// not fatal; a document without a single usable key is an error.
func parseJWKS(data []byte) ([]*key, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, errors.New("not a JWK Set: " + err.Error())
	}
	var out []*key
	for _, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			continue
		}
		if jwk.Use != "" && jwk.Use != "sig" {
			continue
		}
		pub := jwk.Key
		switch k := pub.(type) {
		case *rsa.PrivateKey:
			pub = &k.PublicKey
		case *ecdsa.PrivateKey:
			pub = &k.PublicKey
		case ed25519.PrivateKey:
			pub = k.Public()
		case crypto.PublicKey:
		}
		if jwk.Algorithm != "" {
			if err := KeyFits(jwk.Algorithm, pub); err != nil {
				continue
			}
		}
		out = append(out, &key{kid: jwk.KeyID, alg: jwk.Algorithm, key: pub})
	}
	if len(out) == 0 {
		return nil, errors.New("the JWK Set has no usable signature key")
	}
	return out, nil
}

// jwks keeps the keys of a JWKS file or URL, refreshed in the background.
// Only the configured location is ever read: a token's jku or x5u header
// is never followed.
type jwks struct {
	file, url string
	refresh   time.Duration
	timeout   time.Duration
	logger    *slog.Logger
	client    *http.Client
	onChange  func()

	set     atomic.Pointer[keySet]
	kick    chan struct{}
	stop    chan struct{}
	stopped sync.Once
	done    chan struct{}
	lastTry atomic.Int64 // unix nanoseconds of the last early refresh
}

func newJWKS(file, url string, refresh, timeout time.Duration, logger *slog.Logger, onChange func()) *jwks {
	j := &jwks{file: file, url: url, refresh: refresh, timeout: timeout, logger: logger, onChange: onChange,
		client: &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("JWKS redirects are not followed")
		}},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	j.set.Store(newKeySet(nil))
	return j
}

// load reads the keys once and reports why it failed.
func (j *jwks) load() error {
	var data []byte
	var err error
	if j.file != "" {
		if data, err = os.ReadFile(j.file); err != nil {
			err = errors.New(config.CannotRead(j.file, err))
		}
	} else {
		data, err = j.fetch()
	}
	if err != nil {
		return err
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return err
	}
	j.set.Store(newKeySet(keys))
	if j.onChange != nil {
		j.onChange()
	}
	return nil
}

func (j *jwks) fetch() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), j.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", j.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, errors.New("JWKS URL answered " + strconv.Itoa(resp.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxJWKSSize {
		return nil, errors.New("JWKS larger than 1MB")
	}
	return data, nil
}

// start refreshes the keys every j.refresh, sooner after a failure or
// when asked by miss, until close.
func (j *jwks) start() {
	go func() {
		defer close(j.done)
		wait := j.refresh
		if j.set.Load().n == 0 {
			wait = min(wait, 5*time.Second)
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		for {
			select {
			case <-j.stop:
				return
			case <-t.C:
			case <-j.kick:
			}
			wait = j.refresh
			if err := j.load(); err != nil {
				j.logger.Warn("jwt: cannot refresh the JWKS", "source", j.source(), "error", err.Error())
				wait = min(wait, 10*time.Second)
			}
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
			t.Reset(wait)
		}
	}()
}

func (j *jwks) source() string {
	if j.file != "" {
		return j.file
	}
	return j.url
}

// miss asks for an early refresh after a token named an unknown kid (keys
// are rotated), at most once every 30 seconds.
func (j *jwks) miss() {
	now := time.Now().UnixNano()
	last := j.lastTry.Load()
	if now-last < int64(30*time.Second) || !j.lastTry.CompareAndSwap(last, now) {
		return
	}
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

func (j *jwks) close() {
	j.stopped.Do(func() {
		close(j.stop)
		<-j.done
	})
}
