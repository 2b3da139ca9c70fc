package tests

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

func versionedRoute(v string) string {
	return `
[[routes]]
paths = ["/"]
upstream = "u"
[[routes.plugins]]
name = "headers"
[routes.plugins.config.response]
set = { "X-Config" = "` + v + `" }
`
}

func TestReloadUnderSteadyTrafficLosesNothing(t *testing.T) {
	up := recorder(t)
	base := upstreamTOML("u", up.URL)
	g := gt.Start(t, base+versionedRoute("v0"))

	var ok, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	versions := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := gt.Client()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := 0; i < 20000; i++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				req.SetRequestURI(g.URL + "/steady")
				err := c.DoTimeout(req, resp, 5*time.Second)
				if err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, string(resp.Body())+" "+errString(err))
					mu.Unlock()
					continue
				}
				ok.Add(1)
				mu.Lock()
				versions[string(resp.Header.Peek("X-Config"))] = true
				mu.Unlock()
			}
		}()
	}
	for i := 1; i <= 10; i++ {
		time.Sleep(30 * time.Millisecond)
		g.Rewrite(t, base+versionedRoute("v"+string(rune('0'+i%10))))
		if res := g.Reload(); !res.OK {
			t.Fatalf("reload %d refused: %v", i, res.Messages)
		}
	}
	time.Sleep(30 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during reloads: %v", failed.Load(), ok.Load()+failed.Load(), failures[:min(len(failures), 5)])
	}
	if len(versions) < 3 {
		t.Errorf("saw configurations %v: the reloads did not take effect", versions)
	}
	t.Logf("%d requests across %d configurations, %d failed", ok.Load(), len(versions), failed.Load())
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestBadReloadIsRefusedAndTheOldConfigKeepsServing(t *testing.T) {
	up := recorder(t)
	base := upstreamTOML("u", up.URL)
	g := gt.Start(t, base+versionedRoute("good"))

	g.Rewrite(t, base+versionedRoute("bad")+`
[[routes]]
paths = ["/x/"]
upstream = "nowhere"
[[routes.plugins]]
name = "no-such-plugin"
`)
	st, body, _ := gt.Do(t, "POST", g.AdminURL+"/reload", nil)
	var res struct {
		OK     bool     `json:"ok"`
		Errors []string `json:"errors"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if st != 422 || res.OK || len(res.Errors) != 2 {
		t.Fatalf("reload answered %d %s, want 422 with two errors", st, body)
	}
	joined := strings.Join(res.Errors, "\n")
	for _, want := range []string{`routes[1].upstream: unknown upstream "nowhere"`, `routes[1].plugins[0].name: unknown plugin "no-such-plugin"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors %q do not mention %q", joined, want)
		}
	}
	if st, _, resp := gt.Do(t, "GET", g.URL+"/", nil); st != 200 || string(resp.Header.Peek("X-Config")) != "good" {
		t.Errorf("after the refused reload: %d, X-Config %q", st, resp.Header.Peek("X-Config"))
	}
	_, body, _ = gt.Do(t, "GET", g.AdminURL+"/status", nil)
	var status struct {
		Reloads struct {
			Failed    int    `json:"failed"`
			LastError string `json:"last_error"`
		} `json:"reloads"`
	}
	json.Unmarshal(body, &status)
	if status.Reloads.Failed != 1 || !strings.Contains(status.Reloads.LastError, "nowhere") {
		t.Errorf("status reloads = %+v", status.Reloads)
	}

	// A syntax error is refused too, with its line.
	g.Rewrite(t, base+"[[routes]\n")
	if res := g.Reload(); res.OK || !strings.Contains(strings.Join(res.Messages, ""), "syntax error") {
		t.Errorf("syntax error reload: %+v", res)
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	release := make(chan struct{})
	slow := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		ctx.WriteString("finished")
	})
	g := gt.Start(t, upstreamTOML("u", slow.URL)+catchAll)

	done := getAsync(g.URL + "/slow")
	waitFor(t, func() bool { return slow.Hits() == 1 })

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- g.Shutdown(ctx)
	}()
	// New connections are refused once the listener is closed.
	waitFor(t, func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(g.URL, "http://"), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(release)
	r := <-done
	if r.err != nil || r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// result is the outcome of a request sent by getAsync.
type result struct {
	status int
	body   string
	err    error
}

// getAsync sends GET url in the background (for requests that are still in
// flight while the test does something else) and delivers the outcome.
func getAsync(url string) <-chan result {
	done := make(chan result, 1)
	go func() {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(url)
		err := gt.Client().DoTimeout(req, resp, 15*time.Second)
		done <- result{resp.StatusCode(), string(resp.Body()), err}
	}()
	return done
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUpstreamFailures(t *testing.T) {
	// A port nobody listens on: take one and release it.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	hang := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { time.Sleep(3 * time.Second) })

	g := gt.Start(t, upstreamTOML("dead", dead)+`
[[upstreams]]
name = "hang"
targets = [{ url = "`+hang.URL+`" }]
timeout = "300ms"
[[routes]]
paths = ["/dead"]
upstream = "dead"
[[routes]]
paths = ["/hang"]
upstream = "hang"
[[routes]]
paths = ["/none"]
  [[routes.plugins]]
  name = "test-maybe" # may answer (so no upstream is allowed), never does
[[plugins]]
name = "request-id"
`)
	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/dead", 502, "upstream unreachable"},
		{"/hang", 504, "upstream timed out"},
		{"/none", 502, "route has no upstream"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			st, body, resp := gt.Do(t, "GET", g.URL+tc.path, nil)
			msg, s := errorBody(t, body)
			if st != tc.status || s != tc.status || msg != tc.msg {
				t.Errorf("got %d %s, want %d %q", st, body, tc.status, tc.msg)
			}
			if strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "dial") {
				t.Errorf("error body leaks internal details: %s", body)
			}
			var e struct {
				RequestID string `json:"request_id"`
			}
			json.Unmarshal(body, &e)
			if e.RequestID == "" || e.RequestID != string(resp.Header.Peek("X-Request-Id")) {
				t.Errorf("request_id %q does not match the X-Request-Id header %q", e.RequestID, resp.Header.Peek("X-Request-Id"))
			}
		})
	}
}

func TestAdminAPI(t *testing.T) {
	up := recorder(t)
	t.Setenv("MG_TEST_ADMIN_TOKEN", "t0ken-for-tests")
	g := gt.Start(t, `[admin]
listen = "127.0.0.1:0"
token = "${MG_TEST_ADMIN_TOKEN}"
`+upstreamTOML("u", up.URL)+catchAll)
	for _, auth := range []string{"", "Bearer wrong", "Basic dDBrZW4tZm9yLXRlc3Rz", "Bearer t0ken-for-tests-and-more"} {
		var h []string
		if auth != "" {
			h = []string{"Authorization", auth}
		}
		if st, body, _ := gt.Do(t, "GET", g.AdminURL+"/status", nil, h...); st != 401 || strings.Contains(string(body), "t0ken") {
			t.Errorf("Authorization %q: got %d %s", auth, st, body)
		}
	}
	st, body, _ := gt.Do(t, "GET", g.AdminURL+"/status", nil, "Authorization", "Bearer t0ken-for-tests")
	var s struct {
		Version string `json:"version"`
		Routes  int    `json:"routes"`
		Config  struct {
			Hash string `json:"hash"`
		} `json:"config"`
		Upstreams int `json:"upstreams"`
	}
	if err := json.Unmarshal(body, &s); err != nil || st != 200 {
		t.Fatalf("status: %d %s", st, body)
	}
	if s.Routes != 1 || s.Upstreams != 1 || len(s.Config.Hash) != 64 || s.Version == "" {
		t.Errorf("status = %+v", s)
	}
	if st, _, _ := gt.Do(t, "GET", g.AdminURL+"/reload", nil, "Authorization", "Bearer t0ken-for-tests"); st != 405 {
		t.Errorf("GET /reload: %d, want 405", st)
	}
}

func TestRequestID(t *testing.T) {
	up := recorder(t)
	g := gt.Start(t, `
[[plugins]]
name = "request-id"
`+upstreamTOML("u", up.URL)+catchAll)
	_, body, resp := gt.Do(t, "GET", g.URL+"/", nil)
	id := string(resp.Header.Peek("X-Request-Id"))
	if len(id) != 36 || decodeSeen(t, body).Headers["X-Request-Id"] != id {
		t.Errorf("generated id %q, upstream saw %q", id, decodeSeen(t, body).Headers["X-Request-Id"])
	}
	_, body, resp = gt.Do(t, "GET", g.URL+"/", nil, "X-Request-Id", "from-the-client-123")
	if got := string(resp.Header.Peek("X-Request-Id")); got != "from-the-client-123" || decodeSeen(t, body).Headers["X-Request-Id"] != got {
		t.Errorf("propagated id: response %q", got)
	}
	_, _, resp = gt.Do(t, "GET", g.URL+"/", nil, "X-Request-Id", "bad id with spaces")
	if got := string(resp.Header.Peek("X-Request-Id")); len(got) != 36 {
		t.Errorf("a malformed client id was kept: %q", got)
	}
}
