package cache_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/keyauth"
	_ "github.com/moongate/moongate/plugins/multiauth"
	"github.com/valyala/fasthttp"
)

// The attacks of issue 10 §2 (cache poisoning), end to end: a real
// upstream that tells what it received, the real gateway with the cache
// step, requests written as the attacker sends them.

// echoUpstream answers every request with what reached it of the host and
// the identity (in the body and in response headers, as an upstream that
// builds absolute links or greets its user would), numbered, with the
// given Cache-Control.
func echoUpstream(t *testing.T, cacheControl string) *gatewaytest.Upstream {
	t.Helper()
	var n atomic.Int64
	return gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Request.Header
		host, xfh, xfp := string(h.Host()), string(h.Peek("X-Forwarded-Host")), string(h.Peek("X-Forwarded-Proto"))
		who := string(h.Peek("X-Consumer-Name"))
		ctx.Response.Header.Set("Cache-Control", cacheControl)
		ctx.Response.Header.Set("X-Seen-Host", host)
		ctx.Response.Header.Set("X-Seen-Forwarded-Host", xfh)
		ctx.Response.Header.Set("X-Consumer-Name", who)
		ctx.SetContentType("text/plain")
		fmt.Fprintf(ctx, "link=%s://%s/next consumer=%s n=%d", xfp, xfh, who, n.Add(1))
	})
}

// ask sends GET path to the gateway with headers and returns the body and
// X-Cache-Status; any status but 200 fails the test.
func ask(t *testing.T, g *gatewaytest.Gateway, path string, headers ...string) (body, cacheStatus string) {
	t.Helper()
	status, b, cs, _ := get(t, g, "GET", path, headers...)
	if status != 200 {
		t.Fatalf("GET %s %v: status %d: %s", path, headers, status, b)
	}
	return b, cs
}

// mustGet asserts that GET path with headers is answered with cacheStatus
// and a body containing want.
func mustGet(t *testing.T, g *gatewaytest.Gateway, path, cacheStatus, want string, headers ...string) {
	t.Helper()
	body, cs := ask(t, g, path, headers...)
	if cs != cacheStatus || !strings.Contains(body, want) {
		t.Fatalf("GET %s %v: got %s %q, want %s with %q", path, headers, cs, body, cacheStatus, want)
	}
}

func cachedRoute(upURL, routeExtra, cacheConf string) string {
	return fmt.Sprintf(`
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "c"
paths = ["/c/"]
upstream = "up"
%s
  [[routes.plugins]]
  name = "cache"
  [routes.plugins.config]
%s
`, upURL, routeExtra, cacheConf)
}

// TestHostPoisoning: the attacker's Host reaches the upstream (as
// X-Forwarded-Host, and as Host with preserve_host) and shapes its answer;
// the answer stored for evil.tld must never be served to good.test.
func TestHostPoisoning(t *testing.T) {
	for _, tc := range []struct{ name, route, evil, good string }{
		{"any host", ``, "evil.tld", "good.test"},
		{"preserve_host", `preserve_host = true`, "evil.tld", "good.test"},
		{"route hosts", `hosts = ["good.test", "evil.tld"]`, "evil.tld", "good.test"},
		{"wildcard hosts", `hosts = ["*.example.com"]`, "evil.example.com", "www.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := echoUpstream(t, "max-age=60")
			g := gatewaytest.Start(t, cachedRoute(up.URL, tc.route, ""))

			// curl /c/page -H 'Host: evil.tld', twice: stored.
			mustGet(t, g, "/c/page", "MISS", "://"+tc.evil+"/", "Host", tc.evil)
			mustGet(t, g, "/c/page", "HIT", "://"+tc.evil+"/", "Host", tc.evil)
			// The victim gets its own answer, from the upstream.
			mustGet(t, g, "/c/page", "MISS", "://"+tc.good+"/", "Host", tc.good)
			if up.Hits() != 2 {
				t.Fatalf("upstream hits = %d, want 2 (one per host)", up.Hits())
			}
			mustGet(t, g, "/c/page", "HIT", "://"+tc.good+"/", "Host", tc.good)
			// Spellings of the same host share its entry: case, default port.
			mustGet(t, g, "/c/page", "HIT", "://"+tc.good+"/", "Host", strings.ToUpper(tc.good)+":80")
			// Another port reaches the upstream as such: an entry of its own.
			mustGet(t, g, "/c/page", "MISS", "://"+tc.good+":8080/", "Host", tc.good+":8080")
			if up.Hits() != 3 {
				t.Fatalf("upstream hits = %d, want 3", up.Hits())
			}
		})
	}
}

// TestForwardedHostPoisoningThroughTrustedProxy: from a trusted proxy, the
// client's X-Forwarded-Host and X-Forwarded-Proto go upstream as sent
// (many proxies pass them through): they are part of the key too.
func TestForwardedHostPoisoningThroughTrustedProxy(t *testing.T) {
	up := echoUpstream(t, "max-age=60")
	g := gatewaytest.Start(t, "[server]\nlisten = \"127.0.0.1:0\"\ntrusted_proxies = [\"127.0.0.0/8\"]\n"+cachedRoute(up.URL, "", ""))
	mustGet(t, g, "/c/page", "MISS", "http://evil.tld/", "Host", "good.test", "X-Forwarded-Host", "evil.tld", "X-Forwarded-Proto", "http")
	mustGet(t, g, "/c/page", "HIT", "http://evil.tld/", "Host", "good.test", "X-Forwarded-Host", "evil.tld", "X-Forwarded-Proto", "http")
	mustGet(t, g, "/c/page", "MISS", "https://good.test/", "Host", "good.test", "X-Forwarded-Host", "good.test", "X-Forwarded-Proto", "https")
	mustGet(t, g, "/c/page", "MISS", "http://good.test/", "Host", "good.test", "X-Forwarded-Host", "good.test", "X-Forwarded-Proto", "http")
	mustGet(t, g, "/c/page", "HIT", "https://good.test/", "Host", "good.test", "X-Forwarded-Host", "GOOD.test:443", "X-Forwarded-Proto", "https")
	if up.Hits() != 3 {
		t.Fatalf("upstream hits = %d, want 3", up.Hits())
	}
}

// TestKeyHostOff: key_host = false shares entries between hosts, for
// upstreams that ignore the host (the documented risk).
func TestKeyHostOff(t *testing.T) {
	up := echoUpstream(t, "max-age=60")
	g := gatewaytest.Start(t, cachedRoute(up.URL, "", "key_host = false"))
	mustGet(t, g, "/c/page", "MISS", "://a.test/", "Host", "a.test")
	mustGet(t, g, "/c/page", "HIT", "://a.test/", "Host", "b.test")
}

// TestPurgeDropsEveryHost: a URL or prefix purge drops the responses of
// the path stored for every host.
func TestPurgeDropsEveryHost(t *testing.T) {
	for _, purgeBody := range []string{`{"url": "/c/page"}`, `{"url": "http://good.test/c/page"}`, `{"prefix": "/c/"}`} {
		t.Run(purgeBody, func(t *testing.T) {
			up := echoUpstream(t, "max-age=60")
			g := gatewaytest.Start(t, cachedRoute(up.URL, "", ""))
			hosts := []string{"good.test", "evil.tld", "other.test:8080"}
			for _, h := range hosts {
				mustGet(t, g, "/c/page", "MISS", "://"+h+"/", "Host", h)
				mustGet(t, g, "/c/page?q=1", "MISS", "://"+h+"/", "Host", h)
				mustGet(t, g, "/c/page", "HIT", "://"+h+"/", "Host", h)
			}
			purge(t, g, purgeBody)
			for _, h := range hosts {
				mustGet(t, g, "/c/page", "MISS", "://"+h+"/", "Host", h)
				mustGet(t, g, "/c/page?q=1", "MISS", "://"+h+"/", "Host", h)
			}
		})
	}
}

const aliceKey = "alice-key-0123456789abcdef"

// authRoute is a cached route behind an auth step with an anonymous
// fallback ("guest"): key-auth, or multi-auth over key-auth.
func authRoute(upURL, auth, cacheConf string) string {
	step := `  [[routes.plugins]]
  name = "key-auth"
  [routes.plugins.config]
  anonymous = "guest"
`
	if auth == "multi-auth" {
		step = `  [[routes.plugins]]
  name = "multi-auth"
  [routes.plugins.config]
  anonymous = "guest"
    [[routes.plugins.config.steps]]
    name = "key-auth"
`
	}
	return fmt.Sprintf(`
[[consumers]]
name = "alice"
keys = [%q]
[[consumers]]
name = "bob"
keys = ["bob-key-0123456789abcdef"]
[[consumers]]
name = "guest"
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "c"
paths = ["/c/"]
upstream = "up"
%s
  [[routes.plugins]]
  name = "cache"
  [routes.plugins.config]
%s
`, aliceKey, upURL, step, cacheConf)
}

// TestAnonymousAnswerNotServedToAuthenticated: on a route with an
// anonymous fallback, the response stored for an anonymous request is
// never the answer to an authenticated one, and the other way round.
func TestAnonymousAnswerNotServedToAuthenticated(t *testing.T) {
	alice := []string{"X-API-Key", aliceKey}
	bob := []string{"X-API-Key", "bob-key-0123456789abcdef"}
	for _, auth := range []string{"key-auth", "multi-auth"} {
		t.Run(auth+"/anonymous first", func(t *testing.T) {
			up := echoUpstream(t, "max-age=60")
			g := gatewaytest.Start(t, authRoute(up.URL, auth, ""))
			mustGet(t, g, "/c/page", "MISS", "consumer=guest ", nil...)
			mustGet(t, g, "/c/page", "HIT", "consumer=guest ", nil...)
			mustGet(t, g, "/c/page", "MISS", "consumer=alice ", alice...)
			if up.Hits() != 2 {
				t.Fatalf("upstream hits = %d, want 2", up.Hits())
			}
		})
		t.Run(auth+"/authenticated first", func(t *testing.T) {
			// The upstream marks its answers public: shared between
			// authenticated consumers (RFC 9111 §3.5), never with
			// anonymous requests.
			up := echoUpstream(t, "public, max-age=60")
			g := gatewaytest.Start(t, authRoute(up.URL, auth, ""))
			mustGet(t, g, "/c/page", "MISS", "consumer=alice ", alice...)
			mustGet(t, g, "/c/page", "HIT", "consumer=alice ", alice...)
			mustGet(t, g, "/c/page", "MISS", "consumer=guest ", nil...)
			mustGet(t, g, "/c/page", "HIT", "consumer=guest ", nil...)
			mustGet(t, g, "/c/page", "HIT", "consumer=alice ", bob...)
			if up.Hits() != 2 {
				t.Fatalf("upstream hits = %d, want 2", up.Hits())
			}
		})
		t.Run(auth+"/key_consumer", func(t *testing.T) {
			up := echoUpstream(t, "max-age=60")
			g := gatewaytest.Start(t, authRoute(up.URL, auth, "key_consumer = true"))
			mustGet(t, g, "/c/page", "MISS", "consumer=guest ", nil...)
			mustGet(t, g, "/c/page", "MISS", "consumer=alice ", alice...)
			mustGet(t, g, "/c/page", "MISS", "consumer=bob ", bob...)
			mustGet(t, g, "/c/page", "HIT", "consumer=guest ", nil...)
			mustGet(t, g, "/c/page", "HIT", "consumer=alice ", alice...)
			mustGet(t, g, "/c/page", "HIT", "consumer=bob ", bob...)
		})
	}
}

// TestKeyConsumerWithoutConsumerDoesNotShareAuthorization: key_consumer
// keys on the consumer an auth step found; a request that carries
// Authorization but has no consumer (no auth step before the cache) is not
// stored, or the next bearer of any token, or of none, would get its
// answer.
func TestKeyConsumerWithoutConsumerDoesNotShareAuthorization(t *testing.T) {
	var n atomic.Int64
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		fmt.Fprintf(ctx, "for=%s n=%d", ctx.Request.Header.Peek("Authorization"), n.Add(1))
	})
	g := gatewaytest.Start(t, cachedRoute(up.URL, "", "key_consumer = true"))
	mustGet(t, g, "/c/me", "MISS", "for=Bearer alice ", "Authorization", "Bearer alice")
	mustGet(t, g, "/c/me", "MISS", "for=Bearer bob ", "Authorization", "Bearer bob")
	mustGet(t, g, "/c/me", "MISS", "for= ", nil...)
}

// TestAuthStepAfterCacheDoesNotStore: with the auth step misplaced after
// the cache step, the consumer is not known when the key is made; the
// response fetched for alice must not be stored under a key that anyone,
// without a key, would then hit.
func TestAuthStepAfterCacheDoesNotStore(t *testing.T) {
	up := echoUpstream(t, "max-age=60")
	g := gatewaytest.Start(t, fmt.Sprintf(`
[[consumers]]
name = "alice"
keys = [%q]
[[upstreams]]
name = "up"
targets = [{ url = %q }]
[[routes]]
name = "c"
paths = ["/c/"]
upstream = "up"
  [[routes.plugins]]
  name = "cache"
  [[routes.plugins]]
  name = "key-auth"
`, aliceKey, up.URL))
	mustGet(t, g, "/c/me", "MISS", "consumer=alice ", "X-API-Key", aliceKey)
	status, body, cs, _ := get(t, g, "GET", "/c/me")
	if status != 401 || strings.Contains(body, "alice") {
		t.Fatalf("GET /c/me without a key: got %d %s %q, want 401", status, cs, body)
	}
	mustGet(t, g, "/c/me", "MISS", "consumer=alice ", "X-API-Key", aliceKey)
}
