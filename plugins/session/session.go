package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/core/authstep"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/marks"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
	"golang.org/x/crypto/chacha20poly1305"
)

func init() { plugin.Register("session", New) }

// Config is the plugin's TOML table.
type Config struct {
	authstep.Options
	// Mode is "check", "login" or "logout". Default "check".
	Mode string `toml:"mode"`
	// Cookie is the cookie's name. Default "moongate_session".
	Cookie string `toml:"cookie"`
	// Keys are 32-byte keys (64 hex digits or base64); the first seals,
	// all open. Required.
	Keys []config.Secret `toml:"keys"`
	// Cipher is "aes-256-gcm" or "xchacha20-poly1305". Default "aes-256-gcm".
	Cipher string `toml:"cipher"`
	// IdleTimeout ends a session unused this long; "0s" for none. Default "30m".
	IdleTimeout config.Duration `toml:"idle_timeout"`
	// AbsoluteTimeout ends a session this long after login. Default "12h".
	AbsoluteTimeout config.Duration `toml:"absolute_timeout"`
	// Path is the cookie's Path. Default "/".
	Path string `toml:"path"`
	// Domain is the cookie's Domain. Default "": this host only.
	Domain string `toml:"domain"`
	// Secure sends the cookie over HTTPS only. Default true.
	Secure bool `toml:"secure"`
	// HTTPOnly hides the cookie from scripts. Default true.
	HTTPOnly bool `toml:"http_only"`
	// SameSite is "Strict", "Lax" or "None" (which needs secure). Default "Lax".
	SameSite string `toml:"same_site"`
	// LoginHeader, in login mode, is a response header by which the
	// upstream names the consumer to log in; it is removed from the
	// response. Default "X-Session-Login".
	LoginHeader string `toml:"login_header"`
	// LoginGroupsHeader carries the groups (comma-separated) of a
	// consumer named by LoginHeader that is not in [[consumers]]; it is
	// removed from the response. Default "X-Session-Groups".
	LoginGroupsHeader string `toml:"login_groups_header"`
	// UseRedis keeps the sessions logged out in the Redis of [redis] too,
	// so that a logout on one node holds on every node. No effect without
	// [redis] (each node knows its own logouts). Default true.
	UseRedis bool `toml:"use_redis"`
	// RedisTimeout bounds one Redis call; past it (or when Redis fails)
	// the node decides on the logouts it saw itself, and says so in the
	// log. Default "50ms", at most "10s".
	RedisTimeout config.Duration `toml:"redis_timeout"`
}

// Plugin is an instance of session.
type Plugin struct {
	reg       *consumer.Registry
	mode      string
	cookie    string
	aad       []byte
	seal      sealer
	open      []sealer
	idle      int64 // seconds, 0 none
	absolute  int64 // seconds
	refresh   int64 // re-seal when last seen is this old (seconds)
	path      string
	domain    string
	secure    bool
	httpOnly  bool
	sameSite  fasthttp.CookieSameSite
	loginHdr  string
	groupsHdr string
	challenge string
	revoked   *marks.Set // sessions logged out before their end
}

type sealer struct {
	id   byte // first byte of the key's SHA-256: which key sealed a cookie
	aead cipher.AEAD
}

var (
	_ plugin.RequestHandler  = (*Plugin)(nil)
	_ plugin.ResponseHandler = (*Plugin)(nil)

	errInvalid = plugin.NewError(401, "invalid session")
	errExpired = plugin.NewError(401, "session expired")
	errGone    = plugin.NewError(401, "session consumer no longer exists")
	errRevoked = plugin.NewError(401, "session logged out")
)

// maxCookie bounds a session cookie.
const maxCookie = 3072

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Options: authstep.DefaultOptions(), Mode: "check", Cookie: "moongate_session", Cipher: "aes-256-gcm",
		IdleTimeout: config.Duration(30 * time.Minute), AbsoluteTimeout: config.Duration(12 * time.Hour),
		Path: "/", Secure: true, HTTPOnly: true, SameSite: "Lax",
		LoginHeader: "X-Session-Login", LoginGroupsHeader: "X-Session-Groups",
		UseRedis: true, RedisTimeout: config.Duration(marks.DefaultTimeout)}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	prob := spec.Config.Problem
	p := &Plugin{reg: spec.Consumers(), mode: cfg.Mode, cookie: cfg.Cookie, aad: []byte("moongate-session:" + cfg.Cookie),
		idle: int64(cfg.IdleTimeout.Std() / time.Second), absolute: int64(cfg.AbsoluteTimeout.Std() / time.Second),
		path: cfg.Path, domain: cfg.Domain, secure: cfg.Secure, httpOnly: cfg.HTTPOnly,
		loginHdr: cfg.LoginHeader, groupsHdr: cfg.LoginGroupsHeader,
		challenge: "Cookie realm=" + strconv.Quote(cfg.Realm) + ", cookie-name=" + strconv.Quote(cfg.Cookie)}
	switch cfg.Mode {
	case "check", "login", "logout":
	default:
		return nil, prob("mode", `must be "check", "login" or "logout", got `+strconv.Quote(cfg.Mode))
	}
	if !config.IsToken(cfg.Cookie) {
		return nil, prob("cookie", "must be a cookie name, got "+strconv.Quote(cfg.Cookie))
	}
	if len(cfg.Keys) == 0 && cfg.Mode != "logout" {
		return nil, prob("keys", "needs at least one 32-byte key (64 hex digits or base64, e.g. from `openssl rand -base64 32`)")
	}
	for i, k := range cfg.Keys {
		kp := "keys[" + strconv.Itoa(i) + "]"
		if r := k.Problem(); r != "" {
			return nil, prob(kp, r)
		}
		raw, ok := decodeKey(k.Value())
		if !ok {
			return nil, prob(kp, "must be 32 bytes written as 64 hex digits or base64 (e.g. from `openssl rand -base64 32`)")
		}
		var aead cipher.AEAD
		var err error
		switch cfg.Cipher {
		case "aes-256-gcm":
			var block cipher.Block
			if block, err = aes.NewCipher(raw); err == nil {
				aead, err = cipher.NewGCM(block)
			}
		case "xchacha20-poly1305":
			aead, err = chacha20poly1305.NewX(raw)
		default:
			return nil, prob("cipher", `must be "aes-256-gcm" or "xchacha20-poly1305", got `+strconv.Quote(cfg.Cipher))
		}
		if err != nil {
			return nil, prob(kp, "cannot use the key: "+err.Error())
		}
		sum := sha256.Sum256(raw)
		p.open = append(p.open, sealer{id: sum[0], aead: aead})
	}
	if len(p.open) > 0 {
		p.seal = p.open[0]
	}
	if p.absolute <= 0 {
		return nil, prob("absolute_timeout", "must be at least 1s")
	}
	if p.idle > p.absolute {
		return nil, prob("idle_timeout", "must not be longer than absolute_timeout")
	}
	p.refresh = max(p.idle/10, 1)
	switch strings.ToLower(cfg.SameSite) {
	case "strict":
		p.sameSite = fasthttp.CookieSameSiteStrictMode
	case "lax":
		p.sameSite = fasthttp.CookieSameSiteLaxMode
	case "none":
		if !cfg.Secure {
			return nil, prob("same_site", `"None" needs secure = true (browsers refuse it otherwise)`)
		}
		p.sameSite = fasthttp.CookieSameSiteNoneMode
	default:
		return nil, prob("same_site", `must be "Strict", "Lax" or "None", got `+strconv.Quote(cfg.SameSite))
	}
	if cfg.Path == "" || cfg.Path[0] != '/' || strings.ContainsAny(cfg.Path+cfg.Domain, ";\r\n ") {
		return nil, prob("path", `must start with "/" and hold no ';' or spaces`)
	}
	if cfg.RedisTimeout <= 0 || cfg.RedisTimeout.Std() > 10*time.Second {
		return nil, prob("redis_timeout", `must be more than 0s and at most "10s", got "`+cfg.RedisTimeout.String()+`"`)
	}
	o := marks.Options{What: "session revocation", Local: spec.Namespace("session:revoked"),
		Prefix: "moongate:session:revoked:", Timeout: cfg.RedisTimeout.Std(), Logger: spec.Logger()}
	if cfg.UseRedis {
		o.Redis = spec.Redis()
	}
	p.revoked = marks.New(o)
	if cfg.Mode != "check" {
		if cfg.Anonymous != "" {
			return nil, prob("anonymous", `only applies in mode "check"`)
		}
		return p, nil
	}
	auth, err := authstep.NewAuth(spec, p, cfg.Options)
	if err != nil {
		return nil, err
	}
	return &checkStep{Auth: auth, p: p}, nil
}

// checkStep is the step of mode "check": authentication, plus the
// re-sealing of used cookies in the response phase.
type checkStep struct {
	*authstep.Auth
	p *Plugin
}

var _ plugin.ResponseHandler = (*checkStep)(nil)

// OnResponse implements plugin.ResponseHandler.
func (s *checkStep) OnResponse(c *plugin.Context) error { return s.p.OnResponse(c) }

func decodeKey(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, true
		}
	}
	return nil, false
}

// Challenge implements authstep.Authenticator.
func (p *Plugin) Challenge() string { return p.challenge }

// contents is a session's plaintext:
//
//	version(1) issued(8) seen(8) flags(1) id(16) name(1+n) credential(1+n) groups(1 + (1+n)...)
//
// flags bit 0: the consumer is not in [[consumers]] (named by the
// upstream); its groups are then in the cookie. id is random, chosen at
// login and kept by every re-sealing: a logout revokes the session by it.
// Version 1 had no id; a version 1 cookie's id is derived from what it
// holds (legacyID), and kept when it is re-sealed as version 2.
type contents struct {
	issued, seen int64
	external     bool
	id           [16]byte
	name, cred   []byte
	groups       [][]byte
}

const (
	version  = 2
	version1 = 1 // cookies sealed before sessions had an id
)

// refreshMark is stored under valueKey when the cookie is to be re-sealed.
var refreshMark = &struct{ byte }{}

const valueKey = "session.refresh"

// Authenticate implements authstep.Authenticator: the cookie alone
// authenticates the request. A consumer of [[consumers]] is allocated
// nothing.
func (p *Plugin) Authenticate(c *plugin.Context) (*consumer.Consumer, error) {
	v := c.Request.Header.Cookie(p.cookie)
	if len(v) == 0 {
		return nil, authstep.ErrNoCredentials
	}
	pt, buf, ok := p.unseal(c.Scratch(), v)
	c.KeepScratch(buf)
	if !ok {
		return nil, errInvalid
	}
	var s contents // groups are kept (allocated) only for consumers not in [[consumers]]
	if !parse(pt, &s) {
		return nil, errInvalid
	}
	now := time.Now().Unix()
	if now-s.issued >= p.absolute || now+60 < s.issued || p.idle > 0 && now-s.seen >= p.idle {
		return nil, errExpired
	}
	if p.revoked != nil {
		var kb [64]byte
		if p.revoked.Has(p.revocationKey(kb[:0], &s), p.left(&s, now)) {
			return nil, errRevoked
		}
	}
	if now-s.seen >= p.refresh {
		c.SetValue(valueKey, refreshMark)
	}
	if !s.external {
		cons := p.reg.Session(s.name)
		if cons == nil {
			return nil, errGone
		}
		return cons, nil
	}
	cons := &consumer.Consumer{Name: string(s.name), CredentialID: string(s.name) + ":session"}
	for _, g := range s.groups {
		cons.Groups = append(cons.Groups, string(g))
	}
	return cons, nil
}

// OnRequest implements plugin.RequestHandler for modes login (nothing to
// do before the upstream) and logout: the session of the request's
// cookie is revoked, on this node and (with [redis]) on every node, so
// that a copy of the cookie no longer authenticates either.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	if p.mode == "logout" {
		p.revoke(c)
	}
	return nil
}

// revoke marks the session of the request's cookie as logged out until
// its absolute end. Without keys, the step cannot open the cookie: it only
// clears it.
func (p *Plugin) revoke(c *plugin.Context) {
	v := c.Request.Header.Cookie(p.cookie)
	if len(v) == 0 || len(p.open) == 0 {
		return
	}
	pt, buf, ok := p.unseal(c.Scratch(), v)
	c.KeepScratch(buf)
	var s contents
	if !ok || !parse(pt, &s) {
		return
	}
	if left := p.left(&s, time.Now().Unix()); left > 0 {
		var kb [64]byte
		p.revoked.Put(p.revocationKey(kb[:0], &s), left)
	}
}

// left is how long the session s may still authenticate at now (unix
// seconds), plus the minute of clock skew Authenticate tolerates.
func (p *Plugin) left(s *contents, now int64) time.Duration {
	return time.Duration(s.issued+p.absolute-now+60) * time.Second
}

// revocationKey appends the key of s's revocation: the cookie name and
// the session id in hex.
func (p *Plugin) revocationKey(dst []byte, s *contents) []byte {
	dst = append(dst, p.cookie...)
	dst = append(dst, ':')
	return hex.AppendEncode(dst, s.id[:])
}

// OnResponse implements plugin.ResponseHandler: login sets the cookie,
// logout clears it, check re-seals a cookie in use.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	status := c.Response.StatusCode()
	switch p.mode {
	case "logout":
		p.clear(c)
	case "login":
		name := c.Response.Header.Peek(p.loginHdr)
		groups := c.Response.Header.Peek(p.groupsHdr)
		ok := status >= 200 && status < 400
		if ok && len(name) > 0 {
			p.loginUpstream(c, name, groups)
		} else if ok && c.Consumer != nil && !c.Consumer.Anonymous {
			p.login(c, c.Consumer)
		}
		c.Response.Header.Del(p.loginHdr)
		c.Response.Header.Del(p.groupsHdr)
	case "check":
		if c.Value(valueKey) == refreshMark && status < 500 {
			p.reseal(c)
		}
	}
	return nil
}

func (p *Plugin) login(c *plugin.Context, cons *consumer.Consumer) {
	now := time.Now().Unix()
	s := contents{issued: now, seen: now, id: newID(), name: []byte(cons.Name), cred: []byte(cons.CredentialID)}
	if p.reg.Consumer(cons.Name) == nil {
		s.external = true
		for _, g := range cons.Groups {
			s.groups = append(s.groups, []byte(g))
		}
	}
	p.set(c, &s)
}

func (p *Plugin) loginUpstream(c *plugin.Context, name, groups []byte) {
	if len(name) > 255 || !printable(name) {
		c.LogAttrs(slog.LevelDebug, "session: login header ignored: not a consumer name")
		return
	}
	now := time.Now().Unix()
	s := contents{issued: now, seen: now, id: newID(), name: append([]byte(nil), name...), cred: []byte("upstream")}
	if p.reg.ConsumerBytes(name) == nil {
		s.external = true
		for _, g := range strings.Split(string(groups), ",") {
			if g = strings.TrimSpace(g); g != "" && len(g) < 256 && printable([]byte(g)) {
				s.groups = append(s.groups, []byte(g))
			}
		}
	}
	p.set(c, &s)
}

// newID returns a random session id.
func newID() (id [16]byte) {
	if _, err := rand.Read(id[:]); err != nil {
		panic("session: no randomness: " + err.Error())
	}
	return id
}

func printable(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == ',' {
			return false
		}
	}
	return len(b) > 0
}

// reseal re-issues the request's cookie with "last seen" set to now.
func (p *Plugin) reseal(c *plugin.Context) {
	v := c.Request.Header.Cookie(p.cookie)
	pt, _, ok := p.unseal(nil, v)
	if !ok {
		return
	}
	var s contents
	if !parse(pt, &s) {
		return
	}
	s.seen = time.Now().Unix()
	p.set(c, &s)
}

func (p *Plugin) set(c *plugin.Context, s *contents) {
	pt := marshal(make([]byte, 0, 64), s)
	if len(pt) > 1024 {
		c.LogAttrs(slog.LevelDebug, "session: too many groups to fit a cookie; not logged in")
		return
	}
	value := p.sealValue(pt)
	ck := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(ck)
	ck.SetKey(p.cookie)
	ck.SetValueBytes(value)
	p.attributes(ck)
	ck.SetMaxAge(int(s.issued + p.absolute - time.Now().Unix()))
	c.Response.Header.SetCookie(ck)
}

func (p *Plugin) clear(c *plugin.Context) {
	ck := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(ck)
	ck.SetKey(p.cookie)
	p.attributes(ck)
	ck.SetExpire(fasthttp.CookieExpireDelete)
	c.Response.Header.SetCookie(ck)
}

func (p *Plugin) attributes(ck *fasthttp.Cookie) {
	ck.SetPath(p.path)
	if p.domain != "" {
		ck.SetDomain(p.domain)
	}
	ck.SetSecure(p.secure)
	ck.SetHTTPOnly(p.httpOnly)
	ck.SetSameSite(p.sameSite)
}

// cookieEncoding is base64url without padding, strict: the unused low
// bits of the last digit must be zero, or one cookie could be written
// several ways, all valid.
var cookieEncoding = base64.RawURLEncoding.Strict()

// sealValue encrypts pt: base64url(key id || nonce || ciphertext).
func (p *Plugin) sealValue(pt []byte) []byte {
	a := p.seal.aead
	raw := make([]byte, 1+a.NonceSize(), 1+a.NonceSize()+len(pt)+a.Overhead())
	raw[0] = p.seal.id
	if _, err := rand.Read(raw[1:]); err != nil {
		panic("session: no randomness: " + err.Error())
	}
	raw = a.Seal(raw, raw[1:], pt, p.aad)
	out := make([]byte, cookieEncoding.EncodedLen(len(raw)))
	cookieEncoding.Encode(out, raw)
	return out
}

// unseal decrypts a cookie value with every key whose ID matches. buf is
// working memory (the context's scratch buffer), grown if needed and
// returned for reuse; pt points into it. It allocates nothing once buf
// has grown.
func (p *Plugin) unseal(buf, v []byte) (pt, grown []byte, ok bool) {
	if len(v) > maxCookie*4/3 {
		return nil, buf, false
	}
	n := cookieEncoding.DecodedLen(len(v))
	if cap(buf) < 2*n {
		buf = make([]byte, 0, 2*n+64)
	}
	raw := buf[:n]
	n, err := cookieEncoding.Decode(raw, v)
	if err != nil || n < 1 {
		return nil, buf, false
	}
	raw = raw[:n]
	for _, s := range p.open {
		ns := s.aead.NonceSize()
		if s.id != raw[0] || len(raw) < 1+ns+s.aead.Overhead() {
			continue
		}
		// The plaintext goes after the ciphertext, never over it.
		if pt, err := s.aead.Open(buf[n:n], raw[1:1+ns], raw[1+ns:], p.aad); err == nil {
			return pt, buf, true
		}
	}
	return nil, buf, false
}

func marshal(b []byte, s *contents) []byte {
	b = append(b, version)
	b = binary.BigEndian.AppendUint64(b, uint64(s.issued))
	b = binary.BigEndian.AppendUint64(b, uint64(s.seen))
	var flags byte
	if s.external {
		flags |= 1
	}
	b = append(b, flags)
	b = append(b, s.id[:]...)
	b = appendShort(b, s.name)
	b = appendShort(b, s.cred)
	b = append(b, byte(min(len(s.groups), 255)))
	for i, g := range s.groups {
		if i == 255 {
			break
		}
		b = appendShort(b, g)
	}
	return b
}

func appendShort(b, s []byte) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append(append(b, byte(len(s))), s...)
}

func parse(b []byte, s *contents) bool {
	if len(b) < 18 || b[0] != version && b[0] != version1 {
		return false
	}
	s.issued = int64(binary.BigEndian.Uint64(b[1:]))
	s.seen = int64(binary.BigEndian.Uint64(b[9:]))
	s.external = b[17]&1 != 0
	rest := b[18:]
	if b[0] == version {
		if len(rest) < len(s.id) {
			return false
		}
		copy(s.id[:], rest)
		rest = rest[len(s.id):]
	}
	var ok bool
	if s.name, rest, ok = short(rest); !ok || len(s.name) == 0 {
		return false
	}
	if s.cred, rest, ok = short(rest); !ok || len(rest) < 1 {
		return false
	}
	if b[0] == version1 {
		s.id = legacyID(s)
	}
	n := int(rest[0])
	rest = rest[1:]
	for i := 0; i < n; i++ {
		var g []byte
		if g, rest, ok = short(rest); !ok {
			return false
		}
		if s.external {
			s.groups = append(s.groups, g)
		}
	}
	return len(rest) == 0
}

// legacyID is the id of a version 1 session: a hash of its consumer,
// credential and login time. (Two logins of one consumer with one
// credential in the same second share it.)
func legacyID(s *contents) [16]byte {
	var buf [8 + 2*256]byte
	b := binary.BigEndian.AppendUint64(buf[:0], uint64(s.issued))
	b = appendShort(b, s.name)
	b = appendShort(b, s.cred)
	sum := sha256.Sum256(b)
	var id [16]byte
	copy(id[:], sum[:])
	return id
}

func short(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return nil, nil, false
	}
	return b[1 : 1+int(b[0])], b[1+int(b[0]):], true
}
