package cache_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/compression"
	_ "github.com/moongate/moongate/plugins/lua"
	"github.com/valyala/fasthttp"
)

// The cache answers a hit with the stored body moved, not copied, into
// the response (serve.go, moveBody): the buffer the entry was read into
// becomes the response's, and the response's previous buffer goes to the
// next lookup. A body that still pointed into a buffer something else
// reuses would show here as bytes of another entry, another size or
// another version.

// bodySizes are the sizes of the test bodies: empty, small, around
// fasthttp's write buffer, and through fastcache's Big API.
var bodySizes = []int{0, 1, 100, 3000, 10 << 10, 40 << 10, 100 << 10}

// bodyOf is the body of path's response, version v, for variant
// (the X-Variant request header, for the paths that vary on it): the
// three repeated, cut to size, so that any bytes of another response
// show.
func bodyOf(path, variant string, v int64, size int) []byte {
	unit := fmt.Sprintf("%s|%s|v%d|", path, variant, v)
	return bytes.Repeat([]byte(unit), size/len(unit)+1)[:size]
}

// Each path /x/{i} of the test upstream behaves as its kind, i%4, says:
const (
	kindFresh  = iota // fresh for an hour
	kindSWR           // always stale, served stale while refreshed in the background (entries overwritten all the time)
	kindErrors        // always stale: revalidated each time, and the upstream answers in turn 503 (served stale), 304 (revalidated), 200 (a new version)
	kindVaries        // fresh for an hour, varies on X-Variant
)

// bodyUpstream serves the test bodies: each 200 is a new version of its
// path (X-Version), with the body bodyOf gives.
type bodyUpstream struct {
	mu       sync.Mutex
	versions map[string]int64
	calls    map[string]int64
}

func (u *bodyUpstream) serve(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	i, _ := strconv.Atoi(path[strings.LastIndexByte(path, '/')+1:])
	size := bodySizes[(i/4)%len(bodySizes)]
	variant := string(ctx.Request.Header.Peek("X-Variant"))
	u.mu.Lock()
	u.calls[path]++
	n, v := u.calls[path], u.versions[path]
	etag := `"v` + strconv.FormatInt(v, 10) + `"`
	status := 200
	switch {
	case i%4 == kindErrors && v > 0 && n%3 == 0:
		status = 503
	case i%4 == kindErrors && v > 0 && n%3 == 1 && string(ctx.Request.Header.Peek("If-None-Match")) == etag:
		status = 304
	default:
		v++
		u.versions[path] = v
		etag = `"v` + strconv.FormatInt(v, 10) + `"`
	}
	u.mu.Unlock()
	h := &ctx.Response.Header
	switch i % 4 {
	case kindFresh:
		h.Set("Cache-Control", "max-age=3600")
	case kindSWR:
		h.Set("Cache-Control", "max-age=0, stale-while-revalidate=600")
	case kindErrors:
		h.Set("Cache-Control", "max-age=0, stale-if-error=600")
	case kindVaries:
		h.Set("Cache-Control", "max-age=3600")
		h.Set("Vary", "X-Variant")
	}
	if status == 503 {
		ctx.Response.Header.Del("Cache-Control")
		ctx.Error("down", 503)
		return
	}
	h.Set("ETag", etag)
	h.Set("X-Version", strconv.FormatInt(v, 10))
	h.Set("Content-Type", "text/plain")
	ctx.SetStatusCode(status)
	if status == 200 {
		ctx.SetBody(bodyOf(path, variant, v, size))
	}
}

// TestHitBodiesStayExact sends concurrent clients, on keep-alive
// connections, at many entries of different sizes while they are purged,
// refreshed in the background, revalidated (304) and served stale on
// errors, and checks every body byte for byte: plain GETs, HEADs,
// conditional requests (304), ranges (206, 416), and the same bodies
// changed after the cache step by a later step's response phase
// (compression, a Lua script); some clients go away in the middle of a
// large body. With reduce_memory, fasthttp gives each response's body
// buffer back to its pool after the response. Run it with -race as well.
func TestHitBodiesStayExact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, server string }{
		{"default", ""},
		{"reduce_memory", "[server]\nlisten = \"127.0.0.1:0\"\nreduce_memory = true\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testHitBodies(t, tc.server)
		})
	}
}

func testHitBodies(t *testing.T, server string) {
	up := &bodyUpstream{versions: map[string]int64{}, calls: map[string]int64{}}
	u := gatewaytest.StartUpstream(t, up.serve)
	script := scriptFile(t, `
local M = {}
function M.on_response(conf)
  if gw.response.get_status() == 200 then
    gw.response.set_body(gw.response.get_body() .. "!")
  end
end
return M
`)
	g := gatewaytest.Start(t, server+fmt.Sprintf(`
[[upstreams]]
name = "up"
targets = [{ url = %q }]
timeout = "5s"

[[routes]]
name = "plain"
paths = ["/b/"]
methods = ["GET", "HEAD", "PURGE"]
upstream = "up"
  [[routes.plugins]]
  name = "cache"
  [routes.plugins.config]
  purge = { ips = ["127.0.0.0/8"] }

[[routes]]
name = "compressed"
paths = ["/z/"]
upstream = "up"
  [[routes.plugins]]
  name = "compression"
  [routes.plugins.config]
  min_size = "1B"
  [[routes.plugins]]
  name = "cache"

[[routes]]
name = "script"
paths = ["/l/"]
upstream = "up"
  [[routes.plugins]]
  script = %q
  [[routes.plugins]]
  name = "cache"
`, u.URL, script))

	const paths = 4 * 7 // every kind with every size
	workers, rounds := 8, 400
	if testing.Short() {
		rounds = 100
	}
	var failed atomic.Bool
	var seenMu sync.Mutex
	seen := map[string]int{} // X-Cache-Status: how many answers
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := gatewaytest.Client()
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for r := 0; r < rounds && !failed.Load(); r++ {
				i := rnd.IntN(paths)
				size := bodySizes[(i/4)%len(bodySizes)]
				variant := ""
				if i%4 == kindVaries {
					variant = strconv.Itoa(rnd.IntN(3))
				}
				prefix := "/b/"
				op := rnd.IntN(10)
				switch {
				case op == 8:
					prefix = "/z/"
				case op == 9:
					prefix = "/l/"
				}
				path := prefix + strconv.Itoa(i)
				if op == 7 && size >= 40<<10 {
					goAway(t, g.URL, path)
					continue
				}
				req.Reset()
				resp.Reset()
				req.SetRequestURI(g.URL + path)
				if variant != "" {
					req.Header.Set("X-Variant", variant)
				}
				switch op {
				case 0:
					req.Header.SetMethod("HEAD")
				case 1:
					req.Header.Set("If-None-Match", "*")
				case 2:
					req.Header.Set("Range", "bytes=5-")
				case 3:
					if rnd.IntN(4) == 0 {
						req.Header.SetMethod("PURGE")
					}
				case 8:
					req.Header.Set("Accept-Encoding", "gzip")
				}
				if err := cl.DoTimeout(req, resp, 10*time.Second); err != nil {
					t.Errorf("%s %s: %v", req.Header.Method(), path, err)
					failed.Store(true)
					return
				}
				if msg := checkBody(req, resp, variant, size, op); msg != "" {
					t.Errorf("%s %s (X-Variant %q, %s): %s", req.Header.Method(), path, variant,
						resp.Header.Peek("X-Cache-Status"), msg)
					failed.Store(true)
					return
				}
				seenMu.Lock()
				seen[string(resp.Header.Peek("X-Cache-Status"))]++
				seenMu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("answers by X-Cache-Status: %v", seen)
	for _, s := range []string{"HIT", "MISS", "STALE", "REVALIDATED"} {
		if seen[s] == 0 && !failed.Load() {
			t.Errorf("no %s among the answers %v: the test misses a path", s, seen)
		}
	}
}

// checkBody checks resp, the answer to req (sent as op says) for a path
// whose upstream body has size bytes, and says what is wrong, or "".
func checkBody(req *fasthttp.Request, resp *fasthttp.Response, variant string, size, op int) string {
	status := resp.StatusCode()
	method := string(req.Header.Method())
	if method == "PURGE" {
		if status >= 500 {
			return fmt.Sprintf("status %d", status)
		}
		return ""
	}
	if status == 503 {
		return "" // a kindErrors path with nothing to serve stale (not yet stored, or purged)
	}
	v, err := strconv.ParseInt(string(resp.Header.Peek("X-Version")), 10, 64)
	if err != nil {
		return fmt.Sprintf("status %d, no X-Version", status)
	}
	// The upstream sees the request's path.
	full := bodyOf(string(req.URI().Path()), variant, v, size)
	want, wantStatus := full, 200
	switch {
	case method == "HEAD":
		want = nil
	case op == 1:
		want, wantStatus = nil, 304
	case op == 2 && size > 5:
		want, wantStatus = full[5:], 206
	case op == 2:
		want, wantStatus = nil, 416
	case op == 9:
		want = append(append([]byte(nil), full...), '!')
	}
	body := resp.Body()
	if op == 8 && bytes.Equal(resp.Header.ContentEncoding(), []byte("gzip")) {
		var err error
		if body, err = resp.BodyGunzip(); err != nil {
			return "gzip: " + err.Error()
		}
	}
	if status != wantStatus || !bytes.Equal(body, want) {
		return fmt.Sprintf("got %d, %d bytes %q; want %d, %d bytes %q (version %d)", status, len(body), head(body),
			wantStatus, len(want), head(want), v)
	}
	return ""
}

func head(b []byte) []byte { return b[:min(len(b), 40)] }

// goAway asks for path on a connection of its own and closes it after
// the first bytes of the answer.
func goAway(t *testing.T, base, path string) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [64]byte
	conn.Read(b[:])
}
