package hmacauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/core/authstep"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/marks"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("hmac-auth", New) }

// Config is the plugin's TOML table.
type Config struct {
	authstep.Options
	// Algorithms are the accepted algorithms. Default ["hmac-sha256",
	// "hmac-sha384", "hmac-sha512"].
	Algorithms []string `toml:"algorithms"`
	// EnforceHeaders must be among the signed headers. Default
	// ["@request-target", "date"] ("date" is met by "x-date" too).
	EnforceHeaders []string `toml:"enforce_headers"`
	// ClockSkew is how far Date (or X-Date) may be from now. Default "300s".
	ClockSkew config.Duration `toml:"clock_skew"`
	// ValidateBody requires a signed Digest matching the body when there
	// is one. Default true.
	ValidateBody bool `toml:"validate_body"`
	// HideCredentials removes Authorization before forwarding. Default false.
	HideCredentials bool `toml:"hide_credentials"`
	// UseRedis keeps the signatures already used in the Redis of [redis]
	// too, so that a signature used on one node is refused on every node.
	// No effect without [redis] (each node remembers its own). Default
	// true.
	UseRedis bool `toml:"use_redis"`
	// RedisTimeout bounds one Redis call; past it (or when Redis fails)
	// the node decides on the signatures it saw itself, and says so in
	// the log. Default "50ms", at most "10s".
	RedisTimeout config.Duration `toml:"redis_timeout"`
}

// Plugin checks signed requests. It implements authstep.Authenticator.
type Plugin struct {
	secrets   *secretIndex
	algs      map[string]func() hash.Hash
	enforce   []string
	skew      time.Duration
	body      bool
	hide      bool
	replays   *marks.Set
	challenge string
}

var (
	errMalformed = plugin.NewError(401, "malformed signature")
	errKey       = plugin.NewError(401, "unknown key")
	errAlgorithm = plugin.NewError(401, "signature algorithm not accepted")
	errHeaders   = plugin.NewError(401, "required headers are not signed")
	errDate      = plugin.NewError(401, "date missing or outside the allowed clock skew")
	errDigest    = plugin.NewError(401, "body digest missing or wrong")
	// errBodyTooLarge: a body over buffer_body_size streams and cannot be
	// checked against its digest.
	errBodyTooLarge = plugin.NewError(413, "request body too large to verify its digest")
	errSignature    = plugin.NewError(401, "invalid signature")
	errReplay       = plugin.NewError(401, "signature already used")
)

var hashes = map[string]func() hash.Hash{"hmac-sha256": sha256.New, "hmac-sha384": sha512.New384, "hmac-sha512": sha512.New}

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Options: authstep.DefaultOptions(), Algorithms: []string{"hmac-sha256", "hmac-sha384", "hmac-sha512"},
		EnforceHeaders: []string{"@request-target", "date"}, ClockSkew: config.Duration(300 * time.Second), ValidateBody: true,
		UseRedis: true, RedisTimeout: config.Duration(marks.DefaultTimeout)}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	p := &Plugin{secrets: secrets.In(spec.Consumers()), algs: map[string]func() hash.Hash{}, skew: cfg.ClockSkew.Std(),
		body: cfg.ValidateBody, hide: cfg.HideCredentials,
		challenge: `Signature realm=` + strconv.Quote(cfg.Realm) + `,headers="` + strings.Join(cfg.EnforceHeaders, " ") + `"`}
	for i, a := range cfg.Algorithms {
		h, ok := hashes[a]
		if !ok {
			return nil, spec.Config.Problem("algorithms["+strconv.Itoa(i)+"]", `must be "hmac-sha256", "hmac-sha384" or "hmac-sha512", got `+strconv.Quote(a))
		}
		p.algs[a] = h
	}
	if len(p.algs) == 0 {
		return nil, spec.Config.Problem("algorithms", "needs at least one algorithm")
	}
	for _, h := range cfg.EnforceHeaders {
		p.enforce = append(p.enforce, strings.ToLower(h))
	}
	if p.skew <= 0 {
		return nil, spec.Config.Problem("clock_skew", "must be more than 0s")
	}
	if cfg.RedisTimeout <= 0 || cfg.RedisTimeout.Std() > 10*time.Second {
		return nil, spec.Config.Problem("redis_timeout", `must be more than 0s and at most "10s", got "`+cfg.RedisTimeout.String()+`"`)
	}
	o := marks.Options{What: "hmac-auth replay protection", Local: spec.Namespace("hmac-auth:replay"),
		Prefix: "moongate:hmac-auth:replay:", Timeout: cfg.RedisTimeout.Std(), Logger: spec.Logger()}
	if cfg.UseRedis {
		o.Redis = spec.Redis()
	}
	p.replays = marks.New(o)
	return authstep.NewAuth(spec, p, cfg.Options)
}

// Challenge implements authstep.Authenticator.
func (p *Plugin) Challenge() string { return p.challenge }

// params are the fields of a Signature authorization.
type params struct {
	keyID, algorithm, headers, signature []byte
}

// parseParams reads `keyId="..",algorithm="..",headers="..",signature=".."`.
func parseParams(v []byte, out *params) bool {
	for len(v) > 0 {
		v = bytes.TrimLeft(v, " ,")
		if len(v) == 0 {
			break
		}
		eq := bytes.IndexByte(v, '=')
		if eq <= 0 || eq+1 >= len(v) || v[eq+1] != '"' {
			return false
		}
		name := bytes.TrimSpace(v[:eq])
		rest := v[eq+2:]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return false
		}
		val := rest[:end]
		v = rest[end+1:]
		switch string(name) {
		case "keyId":
			out.keyID = val
		case "algorithm":
			out.algorithm = val
		case "headers":
			out.headers = val
		case "signature":
			out.signature = val
		}
	}
	return len(out.keyID) > 0 && len(out.signature) > 0
}

// Authenticate implements authstep.Authenticator.
func (p *Plugin) Authenticate(c *plugin.Context) (*consumer.Consumer, error) {
	v, ok := authstep.CutScheme(c.Request.Header.Peek("Authorization"), "signature")
	if !ok {
		return nil, authstep.ErrNoCredentials
	}
	var ps params
	if !parseParams(v, &ps) {
		return nil, errMalformed
	}
	key := p.secrets.find(ps.keyID)
	if key == nil {
		return nil, errKey
	}
	alg := string(ps.algorithm)
	if alg == "" {
		alg = "hmac-sha256"
	}
	newHash, ok := p.algs[alg]
	if !ok {
		return nil, errAlgorithm
	}
	headers := strings.Fields(strings.ToLower(string(ps.headers)))
	if len(headers) == 0 {
		headers = []string{"date"}
	}
	signed := func(name string) bool {
		for _, h := range headers {
			if h == name {
				return true
			}
		}
		return false
	}
	for _, h := range p.enforce {
		if !signed(h) && !(h == "date" && signed("x-date")) {
			return nil, errHeaders
		}
	}
	// The clock: X-Date if signed (browsers cannot set Date), else Date.
	dateName := "date"
	if signed("x-date") {
		dateName = "x-date"
	}
	if !signed(dateName) {
		return nil, errHeaders
	}
	date, err := http.ParseTime(string(c.Request.Header.Peek(dateName)))
	if err != nil {
		return nil, errDate
	}
	if d := time.Since(date); d > p.skew || d < -p.skew {
		return nil, errDate
	}
	if p.body {
		body, streamed := c.RequestBody()
		if streamed {
			// Verifying would mean holding the whole body: past
			// buffer_body_size it streams, and cannot be checked.
			return nil, errBodyTooLarge
		}
		digest := c.Request.Header.Peek("Digest")
		if (len(body) > 0 || len(digest) > 0) && (!signed("digest") || !digestMatches(digest, body)) {
			return nil, errDigest
		}
	}
	mac := hmac.New(newHash, key.secret)
	for i, h := range headers {
		if i > 0 {
			mac.Write([]byte{'\n'})
		}
		mac.Write([]byte(h))
		mac.Write([]byte(": "))
		if h == "@request-target" {
			mac.Write(bytes.ToLower(c.Request.Header.Method()))
			mac.Write([]byte{' '})
			mac.Write(c.Request.Header.RequestURI())
			continue
		}
		val := c.Request.Header.Peek(h)
		if val == nil {
			return nil, errHeaders
		}
		mac.Write(val)
	}
	want := mac.Sum(nil)
	got := make([]byte, base64.StdEncoding.DecodedLen(len(ps.signature)))
	n, err := base64.StdEncoding.Decode(got, ps.signature)
	if err != nil || !hmac.Equal(got[:n], want) {
		return nil, errSignature
	}
	if !p.firstUse(ps.signature) {
		return nil, errReplay
	}
	if p.hide {
		c.Request.Header.Del("Authorization")
	}
	return key.consumer, nil
}

func digestMatches(header, body []byte) bool {
	const prefix = "SHA-256="
	if len(header) <= len(prefix) || !bytes.EqualFold(header[:len(prefix)], []byte(prefix)) {
		return false
	}
	sum := sha256.Sum256(body)
	var buf [64]byte
	want := base64.StdEncoding.AppendEncode(buf[:0], sum[:])
	return hmac.Equal(bytes.TrimSpace(header[len(prefix):]), want)
}

// firstUse records sig and reports whether it was not seen before within
// twice the clock skew (after which its date is refused anyway): on this
// node, and with [redis] on any node.
func (p *Plugin) firstUse(sig []byte) bool { return p.replays.Add(sig, 2*p.skew) }
