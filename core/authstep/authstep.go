package authstep

import (
	"errors"
	"strconv"
	"strings"
	"unsafe"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// ErrNoCredentials is what Authenticate returns when the request carries
// none of the credentials the step looks for. It is answered 401 unless
// the step has an anonymous consumer.
var ErrNoCredentials = errors.New("no credentials")

// errMissing answers a request that presented no credentials.
var errMissing = plugin.NewError(401, "authentication required")

// Authenticator is one way of authenticating a request (an API key, a
// password, a token, ...). It is implemented by the authentication
// plugins and combined by Auth (one step) and by multi-auth.
type Authenticator interface {
	// Authenticate returns the request's consumer; ErrNoCredentials when
	// the request carries none of this method's credentials; an
	// *plugin.Error with a 4xx status (401, with a message that reveals no
	// secret) when they are wrong; any other error when the check itself
	// failed (answered 500, or the error's 5xx status).
	Authenticate(c *plugin.Context) (*consumer.Consumer, error)
	// Challenge is the WWW-Authenticate value sent with a 401, such as
	// `Basic realm="moongate"`; "" for none.
	Challenge() string
}

// Options are the keys every authentication step has; plugins embed it
// in their Config.
type Options struct {
	// Anonymous names a consumer of [[consumers]] that requests without
	// credentials get instead of a 401 (requests with wrong credentials
	// still get 401). Default "": none.
	Anonymous string `toml:"anonymous"`
	// Realm is the realm of the WWW-Authenticate challenge. Default "moongate".
	Realm string `toml:"realm"`
}

// DefaultOptions returns Options with their defaults.
func DefaultOptions() Options { return Options{Realm: "moongate"} }

// Auth is an authentication step built around an Authenticator: it removes
// client-sent identity headers, authenticates, sets the consumer and the
// identity headers, and answers failures. It implements plugin.RequestHandler
// and passes Authenticate, Challenge and Cleanup through, so that
// multi-auth can combine steps.
type Auth struct {
	auth      Authenticator
	anonymous *consumer.Consumer
	identity  *Identity
	challenge string
}

var (
	_ plugin.RequestHandler = (*Auth)(nil)
	_ Authenticator         = (*Auth)(nil)
	_ plugin.Cleaner        = (*Auth)(nil)
)

// NewAuth builds the step of a plugin: a checks credentials, opts are the
// step's common keys, strip are more client headers to remove (those the
// plugin itself sets upstream). An unknown anonymous consumer is reported
// at the step's "anonymous" key.
func NewAuth(spec plugin.Spec, a Authenticator, opts Options, strip ...string) (*Auth, error) {
	s := &Auth{auth: a, identity: NewIdentity(authConfig(spec), strip...), challenge: a.Challenge()}
	if opts.Anonymous != "" {
		s.anonymous = spec.Consumers().Anonymous(opts.Anonymous)
		if s.anonymous == nil {
			return nil, spec.Config.Problem("anonymous", "unknown consumer "+strconv.Quote(opts.Anonymous)+" (define it in [[consumers]])")
		}
	}
	return s, nil
}

func authConfig(spec plugin.Spec) config.Auth {
	if cfg := spec.Settings(); cfg != nil {
		return cfg.Auth
	}
	return config.DefaultAuth()
}

// Anonymous returns the step's anonymous consumer, nil if it has none.
func (s *Auth) Anonymous() *consumer.Consumer { return s.anonymous }

// Identity returns the step's identity headers.
func (s *Auth) Identity() *Identity { return s.identity }

// Authenticate implements Authenticator by calling the plugin's.
func (s *Auth) Authenticate(c *plugin.Context) (*consumer.Consumer, error) {
	return s.auth.Authenticate(c)
}

// Challenge implements Authenticator.
func (s *Auth) Challenge() string { return s.challenge }

// Cleanup releases the plugin's resources, if it has any.
func (s *Auth) Cleanup() error {
	if cl, ok := s.auth.(plugin.Cleaner); ok {
		return cl.Cleanup()
	}
	return nil
}

// AuthStep returns s; types that embed an *Auth to add phases of their
// own keep it, so that multi-auth finds the step inside them.
func (s *Auth) AuthStep() *Auth { return s }

// OnRequest implements plugin.RequestHandler.
func (s *Auth) OnRequest(c *plugin.Context) error {
	s.identity.StripFor(c)
	cons, err := s.auth.Authenticate(c)
	if err != nil {
		if err == ErrNoCredentials && s.anonymous != nil {
			cons = s.anonymous
		} else {
			return Fail(c, err, s.challenge)
		}
	}
	c.Consumer = cons
	s.identity.Set(c, cons)
	return nil
}

// Fail answers a failed authentication: ErrNoCredentials and 4xx
// *plugin.Error are answered with their status (401 with the challenges
// as WWW-Authenticate), and nil is returned; any other error is returned
// for the chain to handle as a failure of the step.
func Fail(c *plugin.Context, err error, challenges ...string) error {
	if err == ErrNoCredentials {
		err = errMissing
	}
	var e *plugin.Error
	if !errors.As(err, &e) || e.Status >= 500 {
		return err
	}
	c.Error(e.Status, e.Message)
	if e.Status == 401 {
		for _, ch := range challenges {
			if ch != "" {
				c.Response.Header.Add("WWW-Authenticate", ch)
			}
		}
	}
	return nil
}

// Identity sends the authenticated consumer upstream in headers and
// removes client-sent headers of the same names first. It is immutable
// and safe for concurrent use.
type Identity struct {
	consumer, groups, credential, anonymous []byte   // canonical header names, nil when off
	strip                                   [][]byte // folded names: see foldByte
	extra                                   bool     // names beyond [auth]'s were given
}

// NewIdentity compiles [auth] plus extra header names to remove.
func NewIdentity(a config.Auth, extra ...string) *Identity {
	id := &Identity{consumer: canonical(a.ConsumerHeader), groups: canonical(a.GroupsHeader),
		credential: canonical(a.CredentialHeader), anonymous: canonical(a.AnonymousHeader), extra: len(extra) > 0}
	names := append([]string{a.ConsumerHeader, a.GroupsHeader, a.CredentialHeader, a.AnonymousHeader}, a.StripHeaders...)
	names = append(names, extra...)
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" {
			continue
		}
		f := fold(nil, []byte(n))
		if !seen[string(f)] {
			seen[string(f)] = true
			id.strip = append(id.strip, f)
		}
	}
	return id
}

// canonical returns name as fasthttp writes it ("x-consumer-name" is
// "X-Consumer-Name"), so that Set can skip normalizing it per request.
func canonical(name string) []byte {
	if name == "" {
		return nil
	}
	var h fasthttp.RequestHeader
	h.Set(name, "x")
	for k := range h.All() {
		if strings.EqualFold(string(k), name) {
			return append([]byte(nil), k...)
		}
	}
	return []byte(name)
}

func fold(dst, name []byte) []byte {
	for _, ch := range name {
		dst = append(dst, foldByte(ch))
	}
	return dst
}

// foldByte maps a header name byte to what servers that turn header
// names into variable names may make of it: letters in lower case, digits
// as they are, and every other byte ('-', '_', '.', '~', ...) to one byte,
// '-'. CGI maps '-' to '_' (RFC 3875 §4.1.18); others also map '.' or any
// byte that is not alphanumeric, so all of them are taken as one.
func foldByte(ch byte) byte {
	switch {
	case ch >= 'A' && ch <= 'Z':
		return ch + 'a' - 'A'
	case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9':
		return ch
	}
	return '-'
}

// stripped reports whether header name k is one of the names to remove,
// once folded (foldByte).
func (id *Identity) stripped(k []byte) bool {
	for _, s := range id.strip {
		if len(s) != len(k) {
			continue
		}
		i := 0
		for i < len(k) && foldByte(k[i]) == s[i] {
			i++
		}
		if i == len(k) {
			return true
		}
	}
	return false
}

// Strip removes every request header whose name is one of the identity
// headers or the extra names, whatever its case and whatever stands
// between its words: X_Consumer_Name, X.Consumer.Groups and
// x~consumer~name are X-Consumer-Name to servers that map headers to
// variables (CGI, PHP, WSGI, nginx with underscores_in_headers), so each
// non-alphanumeric byte matches any other (foldByte).
func (id *Identity) Strip(h *fasthttp.RequestHeader) {
	for {
		var names [8][64]byte
		var lens [8]int
		n, long := 0, false
		for k := range h.All() {
			if !id.stripped(k) {
				continue
			}
			if len(k) > len(names[0]) {
				long = true
				continue
			}
			if n < len(names) {
				lens[n] = copy(names[n][:], k)
				n++
			}
		}
		for i := 0; i < n; i++ {
			h.DelBytes(names[i][:lens[i]])
		}
		if n < len(names) && !long {
			return
		}
		if n == 0 {
			// Names longer than the buffer: delete them one by one.
			var k []byte
			for key := range h.All() {
				if id.stripped(key) {
					k = append([]byte(nil), key...)
					break
				}
			}
			if k == nil {
				return
			}
			h.DelBytes(k)
		}
	}
}

// StripFor is Strip for a step: the gateway removes the [auth] names from
// every request before the chain runs, so a step scans the headers again
// only when it has names of its own (jwt claim headers, forward-auth
// upstream headers) or an earlier step of the chain set an identity.
func (id *Identity) StripFor(c *plugin.Context) {
	if id.extra || c.Consumer != nil {
		id.Strip(&c.Request.Header)
	}
}

// Set sends cons upstream: its name, groups (comma-separated), credential
// ID and whether it is anonymous, under the configured header names.
func (id *Identity) Set(c *plugin.Context, cons *consumer.Consumer) {
	h := &c.Request.Header
	if id.consumer != nil {
		h.SetCanonical(id.consumer, bytesOf(cons.Name))
	}
	if id.groups != nil && len(cons.Groups) > 0 {
		b := c.Scratch()
		for i, g := range cons.Groups {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, g...)
		}
		h.SetCanonical(id.groups, b)
		c.KeepScratch(b)
	}
	if id.credential != nil && cons.CredentialID != "" {
		h.SetCanonical(id.credential, bytesOf(cons.CredentialID))
	}
	if id.anonymous != nil && cons.Anonymous {
		h.SetCanonical(id.anonymous, trueValue)
	}
}

var trueValue = []byte("true")

// bytesOf views s as bytes without copying; fasthttp copies what it is given.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// CutScheme cuts an authentication scheme off a credentials header value:
// CutScheme([]byte("Basic dXNlcg=="), "basic") is "dXNlcg==", true. The
// scheme, given in lower case, matches in any case and must be followed
// by a space.
func CutScheme(v []byte, scheme string) ([]byte, bool) {
	if len(v) <= len(scheme) || v[len(scheme)] != ' ' || !httpbytes.HasPrefixFold(v, scheme) {
		return nil, false
	}
	return v[len(scheme)+1:], true
}
