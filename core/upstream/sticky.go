package upstream

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"
	"sync"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/valyala/fasthttp"
)

// sticky keeps a client on one target without state in the gateway: the
// target's identity and an expiry travel in a cookie signed with HMAC-SHA256.
// A missing, forged, expired or stale cookie (its target gone or down)
// falls back to another balancer, and the response sets a fresh cookie.
type sticky struct {
	byID     map[uint64]*Target // the first target of each id
	fallback Balancer
	cookie   string
	path     string
	ttl      time.Duration
	macs     sync.Pool // *mac, reused: signing allocates nothing
}

// macLen is the length of the signature kept in the cookie (128 bits).
const macLen = 16

func newSticky(targets []*Target, cfg *config.Upstream) (Balancer, error) {
	s := &sticky{byID: make(map[uint64]*Target, len(targets)), cookie: cfg.Sticky.Cookie, path: cfg.Sticky.Path, ttl: cfg.Sticky.TTL.Std()}
	for _, t := range targets {
		if s.byID[t.id] == nil {
			s.byID[t.id] = t
		}
	}
	f, ok := lookupBalancer(cfg.Sticky.Fallback)
	if !ok || cfg.Sticky.Fallback == "sticky" {
		return nil, errors.New("sticky.fallback: unknown balancer " + strconv.Quote(cfg.Sticky.Fallback))
	}
	fb, err := f(targets, cfg)
	if err != nil {
		return nil, err
	}
	s.fallback = fb
	key := []byte(cfg.Sticky.Secret)
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	s.macs.New = func() any { return &mac{h: hmac.New(sha256.New, key)} }
	return s, nil
}

// The cookie value: 16 hex digits of target ID, 11 of expiry (unix seconds,
// 0 for none), then the base64url signature of both.
const (
	idLen     = 16
	expLen    = 11
	payload   = idLen + expLen
	cookieLen = payload + 22
)

// mac is an HMAC with a buffer for its sum, pooled together.
type mac struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func (s *sticky) sign(dst []byte, msg []byte) []byte {
	m := s.macs.Get().(*mac)
	m.h.Reset()
	m.h.Write(msg)
	out := m.h.Sum(m.sum[:0])
	dst = base64.RawURLEncoding.AppendEncode(dst, out[:macLen])
	s.macs.Put(m)
	return dst
}

// Pick implements Balancer.
func (s *sticky) Pick(c *reqctx.Context, f Filter) *Target {
	if t := s.fromCookie(c.Request.Header.Cookie(s.cookie), f); t != nil {
		return t
	}
	return s.fallback.Pick(c, f)
}

func (s *sticky) fromCookie(v []byte, f Filter) *Target {
	if len(v) != cookieLen {
		return nil
	}
	var buf [cookieLen]byte
	if !hmac.Equal(s.sign(buf[:0], v[:payload]), v[payload:]) {
		return nil
	}
	id, ok := parseHex(v[:idLen])
	if !ok {
		return nil
	}
	exp, ok := parseHex(v[idLen:payload])
	if !ok || exp != 0 && int64(exp) < f.Now/int64(time.Second) {
		return nil
	}
	if t := s.byID[id]; t != nil && f.Allows(t) {
		return t
	}
	return nil
}

// Picked implements Responder: the client gets a cookie naming the target
// that served it, unless its cookie already does.
func (s *sticky) Picked(c *reqctx.Context, t *Target) {
	now := time.Now()
	if s.fromCookie(c.Request.Header.Cookie(s.cookie), Filter{Now: now.UnixNano(), AnyHealth: true}) == t && s.ttl == 0 {
		return
	}
	var v [cookieLen]byte
	b := appendHex(v[:0], t.id, idLen)
	var exp uint64
	if s.ttl > 0 {
		exp = uint64(now.Add(s.ttl).Unix())
	}
	b = appendHex(b, exp, expLen)
	b = s.sign(b, b[:payload])
	ck := fasthttp.AcquireCookie()
	ck.SetKey(s.cookie)
	ck.SetValueBytes(b)
	ck.SetPath(s.path)
	ck.SetHTTPOnly(true)
	ck.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	if s.ttl > 0 {
		ck.SetMaxAge(int(s.ttl / time.Second))
	}
	c.Response.Header.SetCookie(ck)
	fasthttp.ReleaseCookie(ck)
}

const hexDigits = "0123456789abcdef"

func appendHex(dst []byte, v uint64, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(v>>(uint(i)*4))&0xf])
	}
	return dst
}

func parseHex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
