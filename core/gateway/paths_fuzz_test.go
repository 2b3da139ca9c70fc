package gateway_test

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// pathProbe is a step that answers every request itself and records what
// the route's chain saw: the route, the path, and the request URI that
// would go upstream.
type pathProbe struct{}

var (
	probeMu   sync.Mutex
	probeSeen struct{ route, path, upstreamURI string }
)

func (pathProbe) OnRequest(c *plugin.Context) error {
	probeMu.Lock()
	probeSeen.route, probeSeen.path = c.RouteName(), string(c.Path())
	probeSeen.upstreamURI = string(c.Request.URI().RequestURI())
	probeMu.Unlock()
	c.Respond(200, "text/plain", nil)
	return nil
}

// Answers tells the route check that the probe answers every request, so
// its routes need no upstream.
func (pathProbe) Answers() plugin.Answer { return plugin.AnswerAlways }

func init() {
	plugin.Register("fuzz-path-probe", func(plugin.Spec) (any, error) { return pathProbe{}, nil })
}

// pathRoutes are the routes of the path fuzz gateways, and the README's
// rule for each (prefix paths also match themselves without the slash).
var pathRoutes = []struct{ name, path string }{
	{"admin", "/admin/"}, {"users", "/users/{id}"}, {"health", "/health"}, {"public", "/public/"}, {"root", "/"},
}

func pathGateway(t testing.TB, server string) *gateway.Gateway {
	src := "[admin]\nlisten = \"\"\n[cache]\nsize = \"32MB\"\n[server]\n" + server + "\n"
	for _, r := range pathRoutes {
		src += "[[routes]]\nname = \"" + r.name + "\"\npaths = [\"" + r.path + "\"]\n[[routes.plugins]]\nname = \"fuzz-path-probe\"\n"
	}
	cfg, err := config.Parse("paths.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// expectedRoute is the route the README's rules pick for a normalized path.
func expectedRoute(p string) string {
	switch {
	case p == "/admin" || strings.HasPrefix(p, "/admin/"):
		return "admin"
	case p == "/health":
		return "health"
	case p == "/public" || strings.HasPrefix(p, "/public/"):
		return "public"
	}
	if rest, ok := strings.CutPrefix(p, "/users/"); ok && rest != "" && !strings.Contains(rest, "/") {
		return "users"
	}
	return "root"
}

type served struct {
	status                   int
	route, path, upstreamURI string
	rawPath                  string // the path as the client wrote it, before decoding
}

// serve sends a GET of target through g as fasthttp's server would: the
// request head is parsed from bytes, then handed to the gateway. ok is
// false when fasthttp cannot parse it (the server answers 400 then).
func serve(g *gateway.Gateway, target string) (served, bool) {
	var req fasthttp.Request
	head := "GET " + target + " HTTP/1.1\r\nHost: example.com\r\n\r\n"
	if err := req.Read(bufio.NewReaderSize(strings.NewReader(head), 8<<10)); err != nil {
		return served{}, false
	}
	var fc fasthttp.RequestCtx
	fc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	raw := string(fc.Request.URI().PathOriginal())
	probeMu.Lock()
	probeSeen.route, probeSeen.path, probeSeen.upstreamURI = "", "", ""
	probeMu.Unlock()
	g.ServeHTTP(&fc)
	probeMu.Lock()
	defer probeMu.Unlock()
	return served{status: fc.Response.StatusCode(), route: probeSeen.route, path: probeSeen.path,
		upstreamURI: probeSeen.upstreamURI, rawPath: raw}, true
}

// FuzzPathNormalization sends fuzzed request targets through the gateway
// (fasthttp's parsing and normalization, the gateway's path checks, the
// router) under the default path policy and under strict_paths = false
// with case_insensitive_paths = true. Whatever a chain sees:
//
//   - the path has no empty, "." or ".." segment and no control character;
//     with strict_paths, no ';' or '\'; with case_insensitive_paths, no
//     upper case;
//   - the route is the one the README's rules give for that path: a path
//     under /admin/ after normalization runs the admin route's chain, and
//     no other does;
//   - the request URI sent upstream decodes to that same path, and sent
//     through the gateway again it is routed and seen the same
//     (normalizing twice is normalizing once);
//   - a target whose path holds a control character once percent-decoded
//     is refused, even if a ".." segment would remove it.
//
// Refusals are 4xx; nothing may answer 5xx.
func FuzzPathNormalization(f *testing.F) {
	type policy struct {
		name        string
		g           *gateway.Gateway
		strict, low bool
	}
	policies := []policy{
		{"default", pathGateway(f, ""), true, false},
		{"relaxed", pathGateway(f, "strict_paths = false\ncase_insensitive_paths = true"), false, true},
	}
	// Known bug (issue 10, section 6, being fixed separately): a control
	// character in a segment that ".." removes is not seen by the check,
	// which runs on the normalized path. Until the fix is in, such inputs
	// are skipped, not failed; once it is, they are checked.
	rawChecked := true
	if s, ok := serve(policies[0].g, "/public/%00/../admin/x"); ok && s.status < 400 {
		rawChecked = false
	}

	for _, s := range []string{
		"/", "/admin", "/admin/", "/admin/x", "/adminx", "/Admin/x", "/ADMIN/x", "/admin/../x", "/x/../admin/y",
		"/public/../admin/x", "/public/%2e%2e/admin/x", "/public/%2E%2E/admin/x", "/public/.%2e/admin/x",
		"/public/%2e./admin/x", "/%2e%2e/admin", "/%2e/admin", "//admin/x", "///admin//x", "/public//../admin",
		"/public/%2F..%2Fadmin/x", "/public/..%2Fadmin", "/public%2F..%2Fadmin", "/public/%252e%252e/admin",
		"/public/%25%32%65%25%32%65/admin", "/public/%00/../admin/x", "/public/%01/../admin", "/admin%00",
		"/admin/%00", "/admin%0a", "/admin%0d%0aX-Injected:%201", "/admin%7f", "/admin%09", "/public/..;/admin/x",
		"/admin;x/secret", "/admin;/x", "/public\\..\\admin\\x", "/public/%5C..%5Cadmin", "/public/%5c../admin",
		"/public/./../admin", "/./admin", "/..", "/../..", "/a/b/../../../admin", "/a/./b/.././../admin",
		"http://example.com/../admin", "http://example.com/public/%2e%2e/admin", "/public/%u002e%u002e/admin",
		"/public/%c0%ae%c0%ae/admin", "/public/%e0%80%ae%e0%80%ae/admin", "/public/%ef%bc%8e%ef%bc%8e/admin",
		"/users/42", "/users/42/", "/users//", "/users/%2F", "/users/..", "/users/%2e%2e", "/users/a%3Fb",
		"/health", "/health/", "/health/.", "/health%2F", "/health?x=/../admin", "/public%3F/../admin",
		"/public#/../admin", "/public/%23/../admin", "/public/%25", "/%", "/%zz", "/%2", "/%%32%65",
		"*", "", "admin", "?", "#", "/?", "/public/\xff/../admin", "/\xc3\xa9/../admin",
		strings.Repeat("/a", 500) + strings.Repeat("/..", 500) + "/admin",
		"/" + strings.Repeat("%2e%2e/", 300) + "admin", "/public" + strings.Repeat("/.", 1000) + "/../admin",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if len(target) > 6<<10 {
			return
		}
		knownBug := false
		for _, pol := range policies {
			s, ok := serve(pol.g, target)
			if !ok {
				return // fasthttp's server answers 400
			}
			if s.status >= 500 {
				t.Fatalf("%s: %q answered %d", pol.name, target, s.status)
			}
			if s.status >= 400 {
				continue
			}
			if s.route == "" {
				t.Fatalf("%s: %q answered %d without running a route's chain", pol.name, target, s.status)
			}
			p := s.path
			switch {
			case !strings.HasPrefix(p, "/"):
				t.Fatalf("%s: %q seen as %q, without a leading slash", pol.name, target, p)
			case strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
				strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/.."):
				t.Fatalf("%s: %q seen as %q, not normalized", pol.name, target, p)
			case hasControlChar(p):
				t.Fatalf("%s: %q seen as %q, with a control character", pol.name, target, p)
			case pol.strict && strings.ContainsAny(p, ";\\"):
				t.Fatalf("%s: %q seen as %q, with ';' or '\\' under strict_paths", pol.name, target, p)
			case pol.low && strings.IndexFunc(p, func(r rune) bool { return r >= 'A' && r <= 'Z' }) >= 0:
				t.Fatalf("%s: %q seen as %q, not lower-cased under case_insensitive_paths", pol.name, target, p)
			}
			if decoded := percentDecode(s.rawPath); hasControlChar(decoded) {
				if rawChecked {
					t.Fatalf("%s: %q holds a control character once decoded (%q), but was served as %q", pol.name, target, decoded, p)
				}
				knownBug = true
			}
			if want := expectedRoute(p); s.route != want {
				t.Fatalf("%s: %q seen as %q ran route %s, want %s", pol.name, target, p, s.route, want)
			}
			// What the upstream receives decodes to the same path.
			u := s.upstreamURI
			if strings.ContainsAny(u, " #\x7f") || strings.IndexFunc(u, func(r rune) bool { return r < 0x20 }) >= 0 {
				t.Fatalf("%s: %q goes upstream as %q, which breaks the request line", pol.name, target, u)
			}
			upPath, _, _ := strings.Cut(u, "?")
			if got := percentDecode(upPath); got != p {
				t.Fatalf("%s: %q goes upstream as %q, which decodes to %q, not %q", pol.name, target, u, got, p)
			}
			// And through the gateway again, it is the same request
			// (unless quoting made the request head larger than the
			// server reads, 8KB: a 431 then).
			if len(u) > 7<<10 {
				continue
			}
			again, ok := serve(pol.g, u)
			if !ok || again.status != 200 || again.route != s.route || again.path != p {
				t.Fatalf("%s: %q seen as %q (route %s) goes upstream as %q, which the gateway sees as %q (route %s, status %d)",
					pol.name, target, p, s.route, u, again.path, again.route, again.status)
			}
		}
		if knownBug {
			t.Skipf("known bug (issue 10 §6): %q holds a control character in a segment that dot-segment removal drops", target)
		}
	})
}

// percentDecode decodes %XX escapes, leaving malformed ones as they are
// (as fasthttp, nginx and most servers do).
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func hasControlChar(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}
