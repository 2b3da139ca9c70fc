package accesslog_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/plugins/accesslog"
	"github.com/valyala/fasthttp"
)

// TestEachLineIsItsOwnRequest: the access log takes what it writes
// before the response is written and writes the line after (its chain
// captures), so the line must hold its own request's values, not those
// of the request fasthttp reads next into the same memory: many clients
// at once, each sending requests with a path, User-Agent, Referer and
// query of their own, on keep-alive connections, pipelined, with
// "Connection: close" (the line is finished after fasthttp let go of the
// request), and a client that leaves before reading a large body.
func TestEachLineIsItsOwnRequest(t *testing.T) {
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if strings.HasPrefix(string(ctx.Path()), "/big/") {
			ctx.SetBody(make([]byte, 8<<20))
			return
		}
		ctx.Response.Header.Set("X-Cache-Status", "HIT-"+string(ctx.Path()[1:]))
		ctx.SetBodyString(string(ctx.Path()))
	})
	file := filepath.Join(t.TempDir(), "access.log")
	g := gatewaytest.Start(t, `
[[plugins]]
name = "access-log"
[plugins.config]
output = "`+file+`"
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "u"
`)
	addr := strings.TrimPrefix(g.URL, "http://")
	const clients, perClient = 8, 40
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sendOwnRequests(addr, i, perClient); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// A client that leaves mid-body.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /big/gone?q=gone HTTP/1.1\r\nHost: gw\r\nUser-Agent: ua-gone\r\n\r\n")
	br := bufio.NewReader(c)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	c.Close()
	time.Sleep(200 * time.Millisecond) // the gateway notices on its next write
	stop(t, g)

	lines := readLines(t, file)
	if len(lines) != clients*perClient+1 {
		t.Fatalf("%d lines, want %d", len(lines), clients*perClient+1)
	}
	for _, l := range lines {
		var rec struct {
			Path        string `json:"path"`
			Query       string `json:"query"`
			UserAgent   string `json:"user_agent"`
			Referer     string `json:"referer"`
			CacheStatus string `json:"cache_status"`
			Status      int    `json:"status"`
			BytesSent   int    `json:"bytes_sent"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		id := strings.TrimPrefix(rec.Path, "/")
		if id == "big/gone" {
			if rec.UserAgent != "ua-gone" || rec.Query != "q=gone" || rec.BytesSent >= 8<<20 {
				t.Errorf("the line of the client that left: %s", l)
			}
			continue
		}
		if rec.Status != 200 || rec.Query != "q="+id || rec.UserAgent != "ua-"+id ||
			rec.Referer != "http://ref/"+id || rec.CacheStatus != "HIT-"+id || rec.BytesSent != len(rec.Path) {
			t.Errorf("a line mixes requests: %s", l)
		}
	}
}

// sendOwnRequests sends n requests for client i on one connection, each
// with values of its own, every fourth pipelined behind the one before,
// the last with Connection: close, and checks their responses.
func sendOwnRequests(addr string, i, n int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	request := func(j int) string {
		id := fmt.Sprintf("c%d-r%d", i, j)
		conn := ""
		if j == n-1 {
			conn = "Connection: close\r\n"
		}
		return "GET /" + id + "?q=" + id + " HTTP/1.1\r\nHost: gw\r\nUser-Agent: ua-" + id +
			"\r\nReferer: http://ref/" + id + "\r\n" + conn + "\r\n"
	}
	for j := 0; j < n; {
		batch := request(j)
		k := j + 1
		if j%4 == 3 && k < n {
			batch += request(k)
			k++
		}
		if _, err := io.WriteString(c, batch); err != nil {
			return err
		}
		for ; j < k; j++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("/c%d-r%d", i, j); string(body) != want {
				return fmt.Errorf("response %q, want %q", body, want)
			}
		}
	}
	return nil
}

// TestCapturedLineKeepsItsRequest: a captured line (CaptureLog) keeps the
// values of its request when fasthttp reuses the request's memory for the
// next one before the line is finished (FinishLog), as it does when the
// connection closes or a step holds the log phase.
func TestCapturedLineKeepsItsRequest(t *testing.T) {
	file := filepath.Join(t.TempDir(), "access.log")
	inst, err := accesslog.New(plugin.Spec{Name: accesslog.Name, Path: "plugins[0]", Config: config.NewTable("plugins[0].config",
		map[string]any{"output": file, "redact_query": []any{"apikey"}})})
	if err != nil {
		t.Fatal(err)
	}
	p := inst.(*accesslog.Plugin)
	c := typicalRequest()
	c.Response.Header.Set("X-Cache-Status", "HIT")
	captured := p.CaptureLog(c)
	// The next request, of the same shape, read into the same memory.
	c.Request.Header.SetMethod("PUT")
	c.Request.SetRequestURI("/users/43?page=3&apikey=s3cret")
	c.Request.Header.SetUserAgent("curl/9.9.9")
	c.Request.Header.Set("Traceparent", "00-00000000000000000000000000000001-0000000000000001-01")
	c.Request.Header.SetProtocol("HTTP/1.0")
	c.SetRequestID([]byte("00000000-0000-0000-0000-000000000000"))
	c.Response.Header.Set("X-Cache-Status", "BYP")
	captured.FinishLog(c)
	plugintest.Release(c)
	if err := p.Cleanup(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, file)
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1", len(lines))
	}
	for _, want := range []string{`"method":"GET"`, `"path":"/users/42"`, `"query":"page=2&apikey=[redacted]"`,
		`"protocol":"HTTP/1.1"`, `"user_agent":"curl/8.5.0"`, `"request_id":"7f3c9a2b-1d4e-4f5a-9b6c-0d1e2f3a4b5c"`,
		`"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"`, `"cache_status":"HIT"`, `"bytes_sent":12`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the line lacks %s: %s", want, lines[0])
		}
	}
}
