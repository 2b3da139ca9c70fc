package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/moongate/moongate/core/authstep"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ttlmap"
)

func init() { plugin.Register("jwt", New) }

// Config is the plugin's TOML table.
type Config struct {
	authstep.Options
	// Header carries the token; for "Authorization" it follows "Bearer ".
	// Default "Authorization"; "" to not read a header.
	Header string `toml:"header"`
	// Cookie carries the token. Default "": not read.
	Cookie string `toml:"cookie"`
	// Query is a query argument carrying the token, removed before the
	// request goes on. Default "": not read.
	Query string `toml:"query"`
	// Algorithms are the accepted "alg" values. Required: there is no
	// default, and "none" is never accepted.
	Algorithms []string `toml:"algorithms"`
	// Keys are static verification keys.
	Keys []Key `toml:"keys"`
	// JWKSFile is a JWK Set file (relative to the configuration file's
	// folder), re-read every JWKSRefresh. Default "".
	JWKSFile string `toml:"jwks_file,path"`
	// JWKSURL is a JWK Set URL, fetched in the background every
	// JWKSRefresh (and early when a token names an unknown kid, at most
	// every 30s). Default "".
	JWKSURL string `toml:"jwks_url"`
	// JWKSRefresh is how often the JWKS is read again. Default "5m".
	JWKSRefresh config.Duration `toml:"jwks_refresh"`
	// JWKSTimeout bounds one fetch of the JWKS URL. Default "5s".
	JWKSTimeout config.Duration `toml:"jwks_timeout"`
	// ConsumerKeys verifies tokens with the jwt_secrets of [[consumers]],
	// found by the token's KeyClaim. Default true.
	ConsumerKeys bool `toml:"consumer_keys"`
	// KeyClaim is the claim naming a consumer's jwt_secrets key. Default "iss".
	KeyClaim string `toml:"key_claim"`
	// Issuers, when set, are the accepted "iss" values. Default: any.
	Issuers []string `toml:"issuers"`
	// Audiences, when set, requires "aud" to hold one of them. Default: any.
	Audiences []string `toml:"audiences"`
	// Leeway is the clock skew allowed on exp, nbf and iat. Default "0s".
	Leeway config.Duration `toml:"leeway"`
	// RequireExp refuses tokens without "exp". Default true.
	RequireExp bool `toml:"require_exp"`
	// ConsumerClaim names the consumer of tokens verified by static or
	// JWKS keys: a [[consumers]] name, or else a consumer of its own.
	// Default "sub".
	ConsumerClaim string `toml:"consumer_claim"`
	// RequireConsumer refuses tokens whose ConsumerClaim names no
	// [[consumers]] entry. Default false.
	RequireConsumer bool `toml:"require_consumer"`
	// GroupsClaim holds the groups of consumers not in [[consumers]] (a
	// string or an array of strings). Default "".
	GroupsClaim string `toml:"groups_claim"`
	// ClaimsToHeaders sends claims upstream: { email = "X-User-Email" }.
	// Arrays are comma-joined, objects sent as JSON. Client-sent headers
	// of these names are removed. Default: none.
	ClaimsToHeaders map[string]string `toml:"claims_to_headers"`
	// HideCredentials removes the token from the request sent upstream
	// (header, cookie stays). Default false.
	HideCredentials bool `toml:"hide_credentials"`
	// CacheSize bounds the verified tokens remembered so a repeat token
	// skips the signature check; 0 turns the cache off. Default 10000.
	CacheSize int `toml:"cache_size"`
	// CacheTTL bounds how long a verified token is remembered (never past
	// its exp). Default "5m".
	CacheTTL config.Duration `toml:"cache_ttl"`
}

// Key is a static verification key.
type Key struct {
	// KID matches the token's "kid" header; "" for tokens without one.
	KID string `toml:"kid"`
	// Algorithm is the only algorithm accepted with the key. Required.
	Algorithm string `toml:"algorithm"`
	// Secret is the HMAC secret of HS* keys.
	Secret config.Secret `toml:"secret"`
	// PublicKey is the PEM public key of RS*, PS*, ES* and EdDSA keys
	// (inline or "file:key.pem").
	PublicKey config.Secret `toml:"public_key"`
}

// Plugin verifies JWTs. It implements authstep.Authenticator.
type Plugin struct {
	reg        *consumer.Registry
	secrets    *secretIndex
	header     string
	bearer     bool
	cookie     string
	query      string
	hide       bool
	algs       map[string]bool
	static     *keySet
	jwks       *jwks
	consumerKe bool
	keyClaim   string
	issuers    []string
	parser     *gojwt.Parser
	consClaim  string
	requireCon bool
	groups     string
	claimHdrs  []claimHeader
	cacheSize  int
	cacheTTL   time.Duration
	cache      atomic.Pointer[ttlmap.Map[*verified]]
	challenge  string
}

type claimHeader struct {
	claim, header string
}

// verified is a token whose signature and claims were checked.
type verified struct {
	consumer *consumer.Consumer
	headers  [][2]string // header, value
	exp      time.Time   // zero: none
}

// maxToken bounds the tokens read.
const maxToken = 8 << 10

var (
	errMalformed  = plugin.NewError(401, "malformed token")
	errSignature  = plugin.NewError(401, "invalid token signature")
	errExpired    = plugin.NewError(401, "token expired")
	errNotYet     = plugin.NewError(401, "token not valid yet")
	errIssuer     = plugin.NewError(401, "token issuer not accepted")
	errAudience   = plugin.NewError(401, "token audience not accepted")
	errAlgorithm  = plugin.NewError(401, "token algorithm not accepted")
	errUnknownKey = plugin.NewError(401, "unknown token signing key")
	errInvalid    = plugin.NewError(401, "invalid token")
	errNoConsumer = plugin.NewError(401, "token names no known consumer")
	errCritical   = plugin.NewError(401, "token needs an extension that is not supported (crit)")
)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Options: authstep.DefaultOptions(), Header: "Authorization", ConsumerKeys: true, KeyClaim: "iss",
		RequireExp: true, ConsumerClaim: "sub", CacheSize: 10000,
		JWKSRefresh: config.Duration(5 * time.Minute), JWKSTimeout: config.Duration(5 * time.Second),
		CacheTTL: config.Duration(5 * time.Minute)}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	prob := spec.Config.Problem
	if len(cfg.Algorithms) == 0 {
		return nil, prob("algorithms", `is required: list the accepted algorithms, such as ["RS256"]`)
	}
	p := &Plugin{reg: spec.Consumers(), secrets: secrets.In(spec.Consumers()), header: cfg.Header, cookie: cfg.Cookie, query: cfg.Query,
		hide: cfg.HideCredentials, algs: map[string]bool{}, consumerKe: cfg.ConsumerKeys, keyClaim: cfg.KeyClaim,
		issuers: cfg.Issuers, consClaim: cfg.ConsumerClaim, requireCon: cfg.RequireConsumer, groups: cfg.GroupsClaim,
		cacheSize: cfg.CacheSize, cacheTTL: cfg.CacheTTL.Std(),
		challenge: "Bearer realm=" + strconv.Quote(cfg.Realm)}
	p.bearer = strings.EqualFold(cfg.Header, "Authorization")
	if cfg.Header == "" && cfg.Cookie == "" && cfg.Query == "" {
		return nil, prob("header", "needs a header, cookie or query argument to read the token from")
	}
	for i, a := range cfg.Algorithms {
		if !IsAlgorithm(a) {
			return nil, prob("algorithms["+strconv.Itoa(i)+"]", "must be one of "+strings.Join(Algorithms, ", ")+
				" (never none), got "+strconv.Quote(a))
		}
		p.algs[a] = true
	}
	var keys []*key
	for i := range cfg.Keys {
		k := &cfg.Keys[i]
		kp := "keys[" + strconv.Itoa(i) + "]"
		if !IsAlgorithm(k.Algorithm) {
			return nil, prob(kp+".algorithm", "must be one of "+strings.Join(Algorithms, ", ")+", got "+strconv.Quote(k.Algorithm))
		}
		if !p.algs[k.Algorithm] {
			return nil, prob(kp+".algorithm", strconv.Quote(k.Algorithm)+" is not in algorithms")
		}
		field, s := "secret", k.Secret
		if !strings.HasPrefix(k.Algorithm, "HS") {
			field, s = "public_key", k.PublicKey
			if !k.Secret.Empty() {
				return nil, prob(kp+".secret", k.Algorithm+" keys are public keys: use public_key")
			}
		} else if !k.PublicKey.Empty() {
			return nil, prob(kp+".public_key", k.Algorithm+" keys are shared secrets: use secret")
		}
		if r := s.Problem(); r != "" {
			return nil, prob(kp+"."+field, r)
		}
		if s.Empty() {
			return nil, prob(kp+"."+field, "is required")
		}
		v, err := ParseKey(k.Algorithm, s.Value())
		if err != nil {
			return nil, prob(kp+"."+field, err.Error())
		}
		keys = append(keys, &key{kid: k.KID, alg: k.Algorithm, key: v})
	}
	p.static = newKeySet(keys)
	if cfg.JWKSFile != "" && cfg.JWKSURL != "" {
		return nil, prob("jwks_url", "give jwks_file or jwks_url, not both")
	}
	if cfg.JWKSURL != "" && !strings.HasPrefix(cfg.JWKSURL, "https://") && !strings.HasPrefix(cfg.JWKSURL, "http://") {
		return nil, prob("jwks_url", "must be an http:// or https:// URL, got "+strconv.Quote(cfg.JWKSURL))
	}
	if cfg.JWKSRefresh.Std() < time.Second {
		return nil, prob("jwks_refresh", "must be at least 1s")
	}
	if cfg.JWKSTimeout == 0 {
		return nil, prob("jwks_timeout", "must be more than 0s")
	}
	if len(keys) == 0 && cfg.JWKSFile == "" && cfg.JWKSURL == "" && !(cfg.ConsumerKeys && len(p.secrets.byKey) > 0) {
		return nil, prob("keys", "no verification key: give keys, jwks_file, jwks_url, or jwt_secrets in [[consumers]]")
	}
	if cfg.CacheSize < 0 {
		return nil, prob("cache_size", "must not be negative")
	}
	if cfg.ConsumerClaim == "" {
		return nil, prob("consumer_claim", "must name a claim, such as \"sub\"")
	}
	var strip []string
	names := make([]string, 0, len(cfg.ClaimsToHeaders))
	for c := range cfg.ClaimsToHeaders {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		h := cfg.ClaimsToHeaders[c]
		if !config.IsToken(h) {
			return nil, prob("claims_to_headers."+c, "must be a header name, got "+strconv.Quote(h))
		}
		p.claimHdrs = append(p.claimHdrs, claimHeader{claim: c, header: h})
		strip = append(strip, h)
	}
	// Strict decoding refuses base64 whose unused low bits are set: else
	// one token could be written several ways, all valid (RFC 7515 §2
	// uses base64url without padding, and one encoding per value).
	opts := []gojwt.ParserOption{gojwt.WithValidMethods(cfg.Algorithms), gojwt.WithLeeway(cfg.Leeway.Std()), gojwt.WithIssuedAt(),
		gojwt.WithStrictDecoding()}
	if cfg.RequireExp {
		opts = append(opts, gojwt.WithExpirationRequired())
	}
	if len(cfg.Audiences) > 0 {
		opts = append(opts, gojwt.WithAudience(cfg.Audiences...))
	}
	p.parser = gojwt.NewParser(opts...)
	p.resetCache()
	if cfg.JWKSFile != "" || cfg.JWKSURL != "" {
		p.jwks = newJWKS(cfg.JWKSFile, cfg.JWKSURL, cfg.JWKSRefresh.Std(), cfg.JWKSTimeout.Std(), spec.Logger(), p.resetCache)
		if err := p.jwks.load(); err != nil {
			if cfg.JWKSFile != "" {
				return nil, prob("jwks_file", err.Error())
			}
			// An identity provider that is down must not stop the
			// gateway: keep trying in the background.
			spec.Logger().Warn("jwt: cannot fetch the JWKS yet, retrying in the background", "url", cfg.JWKSURL, "error", err.Error())
		}
		p.jwks.start()
	}
	auth, err := authstep.NewAuth(spec, p, cfg.Options, strip...)
	if err != nil {
		p.Cleanup()
		return nil, err
	}
	return auth, nil
}

// resetCache forgets every verified token (a new JWKS may have dropped a key).
func (p *Plugin) resetCache() {
	if p.cacheSize > 0 {
		p.cache.Store(ttlmap.New[*verified](p.cacheSize))
	}
}

// Cleanup stops the JWKS refresher.
func (p *Plugin) Cleanup() error {
	if p.jwks != nil {
		p.jwks.close()
	}
	return nil
}

// Challenge implements authstep.Authenticator.
func (p *Plugin) Challenge() string { return p.challenge }

// token finds the request's token.
func (p *Plugin) token(c *plugin.Context) ([]byte, bool) {
	if p.header != "" {
		if v := c.Request.Header.Peek(p.header); len(v) > 0 {
			if t, ok := authstep.CutScheme(v, "bearer"); ok {
				v = bytes.TrimSpace(t)
			} else if p.bearer {
				return nil, false
			}
			return v, true
		}
	}
	if p.cookie != "" {
		if v := c.Request.Header.Cookie(p.cookie); len(v) > 0 {
			return v, true
		}
	}
	if p.query != "" {
		args := c.Request.URI().QueryArgs()
		if args.Has(p.query) {
			v := args.Peek(p.query)
			// Copy before the argument is removed from the URI.
			t := append(c.Scratch(), v...)
			c.KeepScratch(t)
			args.Del(p.query)
			c.Request.Header.SetRequestURIBytes(c.Request.URI().RequestURI())
			return t, true
		}
	}
	return nil, false
}

// Authenticate implements authstep.Authenticator.
func (p *Plugin) Authenticate(c *plugin.Context) (*consumer.Consumer, error) {
	tok, ok := p.token(c)
	if !ok {
		return nil, authstep.ErrNoCredentials
	}
	if len(tok) == 0 || len(tok) > maxToken {
		return nil, errMalformed
	}
	now := time.Now()
	cache := p.cache.Load()
	var v *verified
	if cache != nil {
		v, _ = cache.Get(tok, now)
	}
	if v == nil {
		var err error
		if v, err = p.verify(string(tok), now); err != nil {
			return nil, err
		}
		if cache != nil {
			exp := now.Add(p.cacheTTL)
			if !v.exp.IsZero() && v.exp.Before(exp) {
				exp = v.exp
			}
			cache.Set(tok, v, exp)
		}
	} else if !v.exp.IsZero() && !now.Before(v.exp) {
		return nil, errExpired
	}
	if p.hide && p.header != "" {
		c.Request.Header.Del(p.header)
	}
	for _, h := range v.headers {
		c.Request.Header.Set(h[0], h[1])
	}
	return v.consumer, nil
}

// verify checks a token's signature and claims.
func (p *Plugin) verify(tok string, now time.Time) (*verified, error) {
	var ck *consumerKey
	var kid string
	claims := gojwt.MapClaims{}
	_, err := p.parser.ParseWithClaims(tok, claims, func(t *gojwt.Token) (any, error) {
		// No "crit" extension is understood here, and a token naming one
		// must then be refused (RFC 7515 §4.1.11).
		if _, ok := t.Header["crit"]; ok {
			return nil, errCritical
		}
		alg, _ := t.Header["alg"].(string)
		if !p.algs[alg] {
			return nil, errAlgorithm
		}
		if p.consumerKe && p.keyClaim != "" {
			if name, ok := claims[p.keyClaim].(string); ok {
				if k := p.secrets.find([]byte(name)); k != nil {
					if k.algorithm != alg {
						return nil, errAlgorithm
					}
					ck = k
					return k.key, nil
				}
			}
		}
		// kid is only ever a map key: never a path, a URL or a query.
		kid, _ = t.Header["kid"].(string)
		if k := p.find(kid, alg); k != nil {
			return k, nil
		}
		if p.jwks != nil {
			p.jwks.miss()
		}
		return nil, errUnknownKey
	})
	if err != nil {
		return nil, classify(err)
	}
	if len(p.issuers) > 0 {
		iss, _ := claims["iss"].(string)
		found := false
		for _, i := range p.issuers {
			if i == iss {
				found = true
				break
			}
		}
		if !found {
			return nil, errIssuer
		}
	}
	v := &verified{}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		v.exp = exp.Time
	}
	if ck != nil {
		v.consumer = ck.consumer
	} else {
		name, _ := claims[p.consClaim].(string)
		if name == "" || len(name) > 256 {
			return nil, errNoConsumer
		}
		cred := "jwt"
		if kid != "" {
			cred = "jwt:" + kid
		}
		if known := p.reg.Consumer(name); known != nil {
			v.consumer = &consumer.Consumer{Name: known.Name, Groups: known.Groups, CredentialID: cred}
		} else if p.requireCon {
			return nil, errNoConsumer
		} else {
			v.consumer = &consumer.Consumer{Name: name, Groups: claimStrings(claims[p.groups]), CredentialID: cred}
		}
	}
	for _, h := range p.claimHdrs {
		if val, ok := headerValue(claims[h.claim]); ok {
			v.headers = append(v.headers, [2]string{h.header, val})
		}
	}
	return v, nil
}

// find returns the key for kid and alg: a static key, else a JWKS key.
func (p *Plugin) find(kid, alg string) any {
	sets := [2]*keySet{p.static, nil}
	if p.jwks != nil {
		sets[1] = p.jwks.set.Load()
	}
	for _, s := range sets {
		if s == nil {
			continue
		}
		if k := pick(s.byKID[kid], alg); k != nil {
			return k
		}
		// Keys configured without a kid verify tokens with any kid.
		if kid != "" {
			if k := pick(s.byKID[""], alg); k != nil {
				return k
			}
		}
	}
	return nil
}

func pick(keys []*key, alg string) any {
	for _, k := range keys {
		if k.alg != "" && k.alg != alg {
			continue
		}
		if KeyFits(alg, k.key) != nil {
			continue
		}
		return k.key
	}
	return nil
}

// classify maps the library's errors to answers that name the problem
// without any detail of the token or key.
func classify(err error) error {
	var e *plugin.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, gojwt.ErrTokenMalformed):
		return errMalformed
	case errors.Is(err, gojwt.ErrTokenSignatureInvalid):
		return errSignature
	case errors.Is(err, gojwt.ErrTokenExpired), errors.Is(err, gojwt.ErrTokenRequiredClaimMissing):
		if errors.Is(err, gojwt.ErrTokenRequiredClaimMissing) {
			return plugin.NewError(401, "token lacks a required claim")
		}
		return errExpired
	case errors.Is(err, gojwt.ErrTokenNotValidYet), errors.Is(err, gojwt.ErrTokenUsedBeforeIssued):
		return errNotYet
	case errors.Is(err, gojwt.ErrTokenInvalidAudience):
		return errAudience
	case errors.Is(err, gojwt.ErrTokenInvalidIssuer):
		return errIssuer
	case errors.Is(err, gojwt.ErrTokenUnverifiable), errors.Is(err, gojwt.ErrTokenSignatureInvalid):
		return errSignature
	}
	return errInvalid
}

func claimStrings(v any) []string {
	switch x := v.(type) {
	case string:
		if x != "" && config.IsHeaderValue(x) {
			return []string{x}
		}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok && s != "" && config.IsHeaderValue(s) && !strings.Contains(s, ",") {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// headerValue formats a claim for a header; values with control
// characters are dropped (no header injection upstream).
func headerValue(v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			p, ok := headerValue(e)
			if !ok {
				return "", false
			}
			parts = append(parts, p)
		}
		s = strings.Join(parts, ",")
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "", false
		}
		s = string(b)
	}
	if !config.IsHeaderValue(s) || len(s) > 4096 {
		return "", false
	}
	return s, true
}
