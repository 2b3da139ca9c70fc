package session

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	_ "github.com/moongate/moongate/plugins/basicauth"
	_ "github.com/moongate/moongate/plugins/requesttermination"
	"github.com/valyala/fasthttp"
)

var (
	keyOld = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	keyNew = strings.Repeat("ab", 32)
)

func sessionConfig(u *gatewaytest.Upstream, keys, cipher, consumers string) string {
	return consumers + `
[[upstreams]]
name = "app"
targets = [{ url = "` + u.URL + `" }]

[[routes]]
name = "login"
paths = ["/login"]
  [[routes.plugins]]
  name = "basic-auth"
  [[routes.plugins]]
  name = "session"
  [routes.plugins.config]
  mode = "login"
  keys = ` + keys + `
  cipher = "` + cipher + `"
  [[routes.plugins]]
  name = "request-termination"
  [routes.plugins.config]
  status = 200
  message = "welcome"

[[routes]]
name = "sso"
paths = ["/sso"]
upstream = "app"
  [[routes.plugins]]
  name = "session"
  [routes.plugins.config]
  mode = "login"
  keys = ` + keys + `
  cipher = "` + cipher + `"

[[routes]]
name = "logout"
paths = ["/logout"]
  [[routes.plugins]]
  name = "session"
  [routes.plugins.config]
  mode = "logout"
  [[routes.plugins]]
  name = "request-termination"
  [routes.plugins.config]
  status = 200
  message = "bye"

[[routes]]
name = "app"
paths = ["/app/"]
upstream = "app"
  [[routes.plugins]]
  name = "session"
  [routes.plugins.config]
  keys = ` + keys + `
  cipher = "` + cipher + `"
`
}

const aliceConsumer = `
[[consumers]]
name = "alice"
groups = ["admins"]
basic_auth = [{ username = "alice", password = "wonderland" }]
`

func cookieOf(t *testing.T, resp *fasthttp.Response, name string) string {
	t.Helper()
	ck := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(ck)
	ck.SetKey(name)
	if !resp.Header.Cookie(ck) {
		return ""
	}
	return string(ck.Value())
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func upstreamNaming(t *testing.T) (*gatewaytest.Upstream, *string) {
	var last string
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		last = string(ctx.Request.Header.Peek("X-Consumer-Name")) + "|" + string(ctx.Request.Header.Peek("X-Consumer-Groups"))
		if string(ctx.Path()) == "/sso" {
			ctx.Response.Header.Set("X-Session-Login", "sso-user")
			ctx.Response.Header.Set("X-Session-Groups", "staff, readers")
		}
	})
	return u, &last
}

func TestLoginThenCookieOnAnotherNode(t *testing.T) {
	for _, cipher := range []string{"aes-256-gcm", "xchacha20-poly1305"} {
		t.Run(cipher, func(t *testing.T) {
			u, last := upstreamNaming(t)
			keys := `["` + keyNew + `"]`
			a := gatewaytest.Start(t, sessionConfig(u, keys, cipher, aliceConsumer))
			b := gatewaytest.Start(t, sessionConfig(u, keys, cipher, aliceConsumer))

			if status, _, _ := gatewaytest.Do(t, "GET", a.URL+"/app/x", nil); status != 401 {
				t.Fatalf("no cookie: status %d, want 401", status)
			}
			if status, _, resp := gatewaytest.Do(t, "POST", a.URL+"/login", nil, "Authorization", basic("alice", "nope")); status != 401 || cookieOf(t, resp, "moongate_session") != "" {
				t.Fatalf("wrong password: status %d, cookie set: %q", status, cookieOf(t, resp, "moongate_session"))
			}
			status, body, resp := gatewaytest.Do(t, "POST", a.URL+"/login", nil, "Authorization", basic("alice", "wonderland"))
			ck := cookieOf(t, resp, "moongate_session")
			if status != 200 || ck == "" {
				t.Fatalf("login: status %d, cookie %q: %s", status, ck, body)
			}
			set := string(resp.Header.Peek("Set-Cookie"))
			for _, attr := range []string{"HttpOnly", "secure", "SameSite=Lax", "path=/", "max-age="} {
				if !strings.Contains(strings.ToLower(set), strings.ToLower(attr)) {
					t.Fatalf("Set-Cookie %q lacks %s", set, attr)
				}
			}
			// The cookie alone authenticates, on the other node too.
			status, body, _ = gatewaytest.Do(t, "GET", b.URL+"/app/x", nil, "Cookie", "moongate_session="+ck)
			if status != 200 || *last != "alice|admins" {
				t.Fatalf("cookie on node b: status %d, upstream saw %q: %s", status, *last, body)
			}
			// Tampering with any byte is refused.
			raw, _ := base64.RawURLEncoding.DecodeString(ck)
			for _, i := range []int{0, 1, len(raw) / 2, len(raw) - 1} {
				bad := append([]byte(nil), raw...)
				bad[i] ^= 1
				v := base64.RawURLEncoding.EncodeToString(bad)
				if status, _, _ := gatewaytest.Do(t, "GET", b.URL+"/app/x", nil, "Cookie", "moongate_session="+v); status != 401 {
					t.Fatalf("byte %d flipped: status %d, want 401", i, status)
				}
			}
			for _, v := range []string{"", "x", "%%%", ck[:len(ck)-4], strings.Repeat("A", 5000)} {
				if status, _, _ := gatewaytest.Do(t, "GET", b.URL+"/app/x", nil, "Cookie", "moongate_session="+v); status != 401 {
					t.Fatalf("cookie %.20q: status %d, want 401", v, status)
				}
			}
			// Logout clears the cookie.
			_, _, resp = gatewaytest.Do(t, "POST", a.URL+"/logout", nil, "Cookie", "moongate_session="+ck)
			if set := string(resp.Header.Peek("Set-Cookie")); !strings.Contains(set, "moongate_session=;") || !strings.Contains(strings.ToLower(set), "expires=") {
				t.Fatalf("logout Set-Cookie %q", set)
			}
			// The upstream can log a consumer in by naming it.
			_, _, resp = gatewaytest.Do(t, "GET", a.URL+"/sso", nil)
			if resp.Header.Peek("X-Session-Login") != nil {
				t.Fatal("login header leaked to the client")
			}
			sso := cookieOf(t, resp, "moongate_session")
			if status, _, _ := gatewaytest.Do(t, "GET", b.URL+"/app/y", nil, "Cookie", "moongate_session="+sso); status != 200 || *last != "sso-user|staff,readers" {
				t.Fatalf("upstream login: status %d, upstream saw %q", status, *last)
			}
		})
	}
}

// newPlugin builds a session plugin directly, to seal cookies by hand.
func newPlugin(t *testing.T, keys ...string) *Plugin {
	raw := map[string]any{"mode": "login"}
	var ks []any
	for _, k := range keys {
		ks = append(ks, k)
	}
	raw["keys"] = ks
	inst, err := New(plugin.Spec{Config: config.NewTable("config", raw), Env: &plugin.Env{}})
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*Plugin)
}

func sealed(p *Plugin, issued, seen time.Time, name string) string {
	s := contents{issued: issued.Unix(), seen: seen.Unix(), name: []byte(name), cred: []byte("x")}
	return string(p.sealValue(marshal(nil, &s)))
}

func TestTimeoutsRotationAndReload(t *testing.T) {
	u, _ := upstreamNaming(t)
	old := newPlugin(t, keyOld)
	g := gatewaytest.Start(t, sessionConfig(u, `["`+keyNew+`", "`+keyOld+`"]`, "aes-256-gcm", aliceConsumer))
	now := time.Now()
	cases := []struct {
		name   string
		cookie string
		status int
	}{
		{"old key still opens", sealed(old, now.Add(-time.Minute), now.Add(-10*time.Minute), "alice"), 200},
		{"idle too long", sealed(old, now.Add(-time.Hour), now.Add(-31*time.Minute), "alice"), 401},
		{"past absolute timeout", sealed(old, now.Add(-13*time.Hour), now, "alice"), 401},
		{"issued in the future", sealed(old, now.Add(time.Hour), now, "alice"), 401},
		{"unknown consumer", sealed(old, now, now, "mallory"), 401},
		{"key not configured", sealed(newPlugin(t, strings.Repeat("cd", 32)), now, now, "alice"), 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/app/x", nil, "Cookie", "moongate_session="+tc.cookie)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.name == "old key still opens" {
				// Used after 10 minutes: re-sealed, with the new key.
				re := cookieOf(t, resp, "moongate_session")
				if re == "" {
					t.Fatal("cookie in use not re-sealed")
				}
				if _, _, ok := old.unseal(nil, []byte(re)); ok {
					t.Fatal("re-sealed with the old key")
				}
				if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/app/x", nil, "Cookie", "moongate_session="+re); status != 200 {
					t.Fatalf("re-sealed cookie: status %d", status)
				}
			}
		})
	}
	// A reload that removes alice ends her sessions.
	ck := sealed(old, now, now, "alice")
	g.Rewrite(t, sessionConfig(u, `["`+keyNew+`", "`+keyOld+`"]`, "aes-256-gcm", ""))
	if res := g.Reload(); !res.OK {
		t.Fatal(res.Messages)
	}
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/app/x", nil, "Cookie", "moongate_session="+ck); status != 401 {
		t.Fatalf("deleted consumer's session: status %d, want 401", status)
	}
}
