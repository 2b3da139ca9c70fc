package tests

import (
	"bufio"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/cache"
	"github.com/valyala/fasthttp"
)

// adminRaw writes raw bytes to the admin listener and returns the status
// and body of its answer.
func adminRaw(t testing.TB, addr, raw string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp.StatusCode(), string(resp.Body())
}

// post builds a raw POST as a browser or curl sends it: headers are
// "Name: value" lines; Content-Length follows the body.
func post(path, body string, headers ...string) string {
	return "POST " + path + " HTTP/1.1\r\n" + strings.Join(headers, "\r\n") + "\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func get(path string, headers ...string) string {
	return "GET " + path + " HTTP/1.1\r\n" + strings.Join(headers, "\r\n") + "\r\n\r\n"
}

// adminTarget is a gateway with a cached route and an admin API without
// a token (the default), and the means to see whether an admin call had
// an effect: the cache status of /c/page and the count of reloads.
type adminTarget struct {
	g    *gt.Gateway
	addr string // the admin listener, 127.0.0.1:port
	port string
}

func startAdminTarget(t *testing.T, extraAdmin string) *adminTarget {
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=600")
		ctx.SetBodyString("page")
	})
	g := gt.Start(t, `[admin]
listen = "127.0.0.1:0"
`+extraAdmin+upstreamTOML("u", up.URL)+`
[[routes]]
name = "cached"
paths = ["/c/"]
upstream = "u"
  [[routes.plugins]]
  name = "cache"
`)
	addr := g.AdminAddr()
	_, port, _ := net.SplitHostPort(addr)
	return &adminTarget{g: g, addr: addr, port: port}
}

// cacheStatus fetches /c/page through the gateway.
func (a *adminTarget) cacheStatus(t *testing.T) string {
	st, _, resp := gt.Do(t, "GET", a.g.URL+"/c/page", nil)
	if st != 200 {
		t.Fatalf("/c/page: %d", st)
	}
	return string(resp.Header.Peek("X-Cache-Status"))
}

// primeCache makes sure /c/page is stored: the next GET is a HIT.
func (a *adminTarget) primeCache(t *testing.T) {
	a.cacheStatus(t)
	if s := a.cacheStatus(t); s != "HIT" {
		t.Fatalf("/c/page after priming: X-Cache-Status %q, want HIT", s)
	}
}

// reloads returns the number of successful reloads, read from /status.
func (a *adminTarget) reloads(t *testing.T) int {
	st, body, _ := gt.Do(t, "GET", "http://"+a.addr+"/status", nil)
	var s struct {
		Reloads struct {
			OK int `json:"ok"`
		} `json:"reloads"`
	}
	if err := json.Unmarshal(body, &s); err != nil || st != 200 {
		t.Fatalf("status: %d %s", st, body)
	}
	return s.Reloads.OK
}

// wantRefused checks an answer is the admin's JSON error with status want.
func wantRefused(t *testing.T, st int, body string, want int) {
	t.Helper()
	var e struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if st != want || json.Unmarshal([]byte(body), &e) != nil || e.Status != want || e.Error == "" {
		t.Errorf("got %d %s, want %d with the admin's JSON error", st, body, want)
	}
}

// A web page the operator opens purges the cache with a "simple" request
// (text/plain, no preflight) carrying its own Origin.
func TestAdminAttackCrossOriginPurge(t *testing.T) {
	a := startAdminTarget(t, "")
	a.primeCache(t)
	for _, tc := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"text/plain with a foreign Origin", []string{"Origin: http://evil.example", "Sec-Fetch-Site: cross-site",
			"Content-Type: text/plain;charset=UTF-8"}, 403},
		{"text/plain from a browser that sends no Origin", []string{"Content-Type: text/plain"}, 415},
		{"a form, no Origin", []string{"Content-Type: application/x-www-form-urlencoded"}, 415},
		{"JSON with a foreign Origin (a preflight would have been needed)", []string{"Origin: http://evil.example",
			"Content-Type: application/json"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := adminRaw(t, a.addr, post("/cache/purge", `{"all": true}`,
				append([]string{"Host: localhost:" + a.port}, tc.headers...)...))
			wantRefused(t, st, body, tc.want)
			if s := a.cacheStatus(t); s != "HIT" {
				t.Errorf("after the refused purge /c/page is %q, want HIT: the purge had an effect", s)
			}
		})
	}
}

// A page posts a form to /reload (or fetches it with no body in no-cors
// mode): no preflight is needed for either.
func TestAdminAttackFormPostReload(t *testing.T) {
	a := startAdminTarget(t, "")
	before := a.reloads(t)
	for _, tc := range []struct {
		name    string
		headers []string
		body    string
		want    int
	}{
		{"form with a foreign Origin", []string{"Origin: http://evil.example", "Sec-Fetch-Site: cross-site",
			"Content-Type: application/x-www-form-urlencoded"}, "", 403},
		{"form with a field, no Origin", []string{"Content-Type: application/x-www-form-urlencoded"}, "x=1", 415},
		{"empty form, no Origin", []string{"Content-Type: application/x-www-form-urlencoded"}, "", 415},
		{"multipart form, no Origin", []string{"Content-Type: multipart/form-data; boundary=x"}, "--x--\r\n", 415},
		{"no-cors fetch without a body", []string{"Origin: http://evil.example", "Sec-Fetch-Site: cross-site"}, "", 403},
		{"no-cors fetch from another local app", []string{"Origin: http://localhost:3000", "Sec-Fetch-Site: same-site"}, "", 403},
		{"Origin null (sandboxed frame)", []string{"Origin: null"}, "", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := adminRaw(t, a.addr, post("/reload", tc.body, append([]string{"Host: localhost:" + a.port}, tc.headers...)...))
			wantRefused(t, st, body, tc.want)
		})
	}
	if after := a.reloads(t); after != before {
		t.Errorf("reloads: %d after the refused requests, %d before", after, before)
	}
}

// A DNS-rebinding page: attacker.tld now resolves to 127.0.0.1, so the
// browser sends Host: attacker.tld and considers the read same-origin.
func TestAdminAttackDNSRebinding(t *testing.T) {
	a := startAdminTarget(t, "")
	a.primeCache(t)
	for _, path := range []string{"/routes", "/status", "/cache/stats", "/upstreams"} {
		for _, host := range []string{"attacker.tld:" + a.port, "attacker.tld", "localhost.attacker.tld:" + a.port, "127.0.0.1.nip.io:" + a.port} {
			st, body := adminRaw(t, a.addr, get(path, "Host: "+host, "Origin: http://"+host, "Sec-Fetch-Site: same-origin"))
			wantRefused(t, st, body, 403)
			if strings.Contains(body, "cached") || strings.Contains(body, "version") {
				t.Errorf("GET %s with Host %s leaked: %s", path, host, body)
			}
		}
	}
	// The same read without Origin (a GET loaded by the page itself).
	st, body := adminRaw(t, a.addr, get("/routes", "Host: attacker.tld:"+a.port))
	wantRefused(t, st, body, 403)
	// Writes too: the rebinding page posts JSON to itself, same-origin.
	st, body = adminRaw(t, a.addr, post("/cache/purge", `{"all": true}`, "Host: attacker.tld:"+a.port,
		"Origin: http://attacker.tld:"+a.port, "Content-Type: application/json"))
	wantRefused(t, st, body, 403)
	if s := a.cacheStatus(t); s != "HIT" {
		t.Errorf("after the refused purge /c/page is %q, want HIT", s)
	}
	// An absolute request target naming another host is refused as well.
	st, body = adminRaw(t, a.addr, "GET http://attacker.tld/routes HTTP/1.1\r\nHost: localhost:"+a.port+"\r\n\r\n")
	wantRefused(t, st, body, 403)
	// No Host at all (HTTP/1.0): no name to check, refused.
	st, body = adminRaw(t, a.addr, "GET /routes HTTP/1.0\r\n\r\n")
	wantRefused(t, st, body, 403)
	// A port other than the listener's is another origin.
	st, body = adminRaw(t, a.addr, get("/status", "Host: localhost:1"))
	wantRefused(t, st, body, 403)
}

// Sec-Fetch-Site tells a page's request apart even when the Origin header
// is missing (GET requests carry none).
func TestAdminAttackSecFetchSite(t *testing.T) {
	a := startAdminTarget(t, "")
	for _, site := range []string{"cross-site", "same-site"} {
		st, body := adminRaw(t, a.addr, get("/routes", "Host: localhost:"+a.port, "Sec-Fetch-Site: "+site))
		wantRefused(t, st, body, 403)
	}
	// A foreign Origin on a read (a CORS fetch) is refused too.
	st, body := adminRaw(t, a.addr, get("/status", "Host: localhost:"+a.port, "Origin: https://evil.example"))
	wantRefused(t, st, body, 403)
}

// What the operator does keeps working: curl, with the exact bytes curl
// sends, and a browser tab opened on the admin API itself.
func TestAdminLegitimateRequests(t *testing.T) {
	a := startAdminTarget(t, "")
	curl := []string{"Host: localhost:" + a.port, "User-Agent: curl/8.5.0", "Accept: */*"}

	// curl -X POST localhost:9080/reload: no body, no Content-Type.
	before := a.reloads(t)
	st, body := adminRaw(t, a.addr, "POST /reload HTTP/1.1\r\n"+strings.Join(curl, "\r\n")+"\r\n\r\n")
	if st != 200 || !strings.Contains(body, `"ok": true`) || a.reloads(t) != before+1 {
		t.Errorf("curl -X POST /reload: %d %s", st, body)
	}
	// curl -X POST localhost:9080/cache/purge -H 'Content-Type: application/json' -d '{"url": "/c/page"}'
	a.primeCache(t)
	st, body = adminRaw(t, a.addr, post("/cache/purge", `{"url": "/c/page"}`,
		append(curl, "Content-Type: application/json")...))
	if st != 200 || a.cacheStatus(t) != "MISS" {
		t.Errorf("JSON purge: %d %s", st, body)
	}
	// With a charset parameter, and by query arguments with no body.
	a.primeCache(t)
	st, body = adminRaw(t, a.addr, post("/cache/purge", `{"prefix": "/c/"}`,
		append(curl, "Content-Type: Application/JSON; charset=utf-8")...))
	if st != 200 || a.cacheStatus(t) != "MISS" {
		t.Errorf("JSON purge with a charset: %d %s", st, body)
	}
	a.primeCache(t)
	st, body = adminRaw(t, a.addr, post("/cache/purge?prefix=/c/", "", curl...))
	if st != 200 || a.cacheStatus(t) != "MISS" {
		t.Errorf("purge by query arguments: %d %s", st, body)
	}
	// Reads by every name of the loopback listener, with or without port.
	for _, host := range []string{"localhost:" + a.port, "127.0.0.1:" + a.port, "[::1]:" + a.port, "localhost", "LOCALHOST:" + a.port} {
		if st, body := adminRaw(t, a.addr, get("/routes", "Host: "+host)); st != 200 || !strings.Contains(body, "cached") {
			t.Errorf("GET /routes with Host %s: %d %s", host, st, body)
		}
	}
	// A browser tab on the admin API itself: typed URL, then same-origin.
	for _, h := range [][]string{{"Sec-Fetch-Site: none"}, {"Sec-Fetch-Site: same-origin", "Origin: http://localhost:" + a.port}} {
		if st, body := adminRaw(t, a.addr, get("/status", append([]string{"Host: localhost:" + a.port}, h...)...)); st != 200 {
			t.Errorf("GET /status with %v: %d %s", h, st, body)
		}
	}
}

// admin.allowed_hosts admits the names an operator reaches the API by.
func TestAdminAllowedHosts(t *testing.T) {
	a := startAdminTarget(t, "allowed_hosts = [\"gateway.internal\", \"Admin.Example.COM.\"]\n")
	for host, want := range map[string]int{
		"gateway.internal:" + a.port: 200, "gateway.internal:8443": 200, "admin.example.com": 200,
		"attacker.tld:" + a.port: 403, "internal:" + a.port: 403, "gateway.internal.attacker.tld": 403,
	} {
		if st, body := adminRaw(t, a.addr, get("/status", "Host: "+host)); st != want {
			t.Errorf("Host %s: %d %s, want %d", host, st, body, want)
		}
	}
}
