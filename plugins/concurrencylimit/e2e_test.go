package concurrencylimit

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// blockingUpstream answers every request once release is closed; entered
// receives a value as each request arrives.
func blockingUpstream(t *testing.T) (up *gt.Upstream, entered chan struct{}, release func()) {
	entered = make(chan struct{}, 64)
	gate := make(chan struct{})
	var once sync.Once
	up = gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		entered <- struct{}{}
		<-gate
		ctx.SetBodyString("done")
	})
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return up, entered, release
}

func stats(t *testing.T, g *gt.Gateway) Step {
	t.Helper()
	st, body, _ := gt.Do(t, "GET", g.AdminURL+"/concurrency-limits", nil)
	var out []Step
	if err := json.Unmarshal(body, &out); err != nil || st != 200 || len(out) != 1 {
		t.Fatalf("GET /concurrency-limits: %d %s (%v)", st, body, err)
	}
	return out[0]
}

func receive(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: nothing within 10s", what)
	}
}

// TestSlowUpstreamQueue: max_in_flight = 2, queue = 1, five concurrent
// requests to an upstream that holds them: two reach it, one waits in
// the queue, two are refused at once with 503 and Retry-After; when the
// upstream answers, the queued one gets its slot and is served.
func TestSlowUpstreamQueue(t *testing.T) {
	up, entered, release := blockingUpstream(t)
	g := gt.Start(t, `
[[upstreams]]
name = "slow"
targets = [{ url = "`+up.URL+`" }]

[[routes]]
name = "slow"
paths = ["/"]
upstream = "slow"
  [[routes.plugins]]
  name = "concurrency-limit"
  [routes.plugins.config]
  max_in_flight = 2
  queue = 1
  queue_timeout = "30s"
`)
	type answer struct {
		status int
		retry  string
	}
	answers := make(chan answer, 5)
	send := func() {
		st, _, resp := gt.Do(t, "GET", g.URL+"/x", nil)
		answers <- answer{st, string(resp.Header.Peek("Retry-After"))}
	}
	go send()
	go send()
	receive(t, entered, "first request at the upstream")
	receive(t, entered, "second request at the upstream")
	go send()
	for stats(t, g).Waiting != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	go send()
	go send()
	for i := 0; i < 2; i++ {
		if a := <-answers; a.status != 503 || a.retry != "1" {
			t.Fatalf("with 2 in flight and 1 queued: %d (Retry-After %q), want 503 (1)", a.status, a.retry)
		}
	}
	if st := stats(t, g); st.InFlight != 2 || st.Waiting != 1 || st.Refused != 2 || st.Route != "slow" {
		t.Errorf("stats: %+v", st)
	}
	release()
	for i := 0; i < 3; i++ {
		if a := <-answers; a.status != 200 {
			t.Errorf("answer %d after the release: %d", i, a.status)
		}
	}
	if up.Hits() != 3 {
		t.Errorf("the upstream got %d requests, want 3", up.Hits())
	}
	// A slot is given back once the response's write has ended, which
	// the gateway learns a moment after the client has read it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := stats(t, g)
		if st.InFlight == 0 && st.Waiting == 0 && st.Queued == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats at the end: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamedResponseHoldsItsSlot: with max_in_flight = 1, a response
// streamed from a slow upstream keeps its slot until its last byte has
// been written to the client, long after the chain (and today's log
// phase) ended: meanwhile the next request is refused; once the stream
// ends, the slot is free again.
func TestStreamedResponseHoldsItsSlot(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	// Before the cleanups: the upstream's stops wait for its stream.
	defer release()
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/stream" {
			ctx.SetBodyString("small")
			return
		}
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			w.WriteString("data: first\n\n")
			w.Flush()
			<-gate
			w.WriteString("data: last\n\n")
			w.Flush()
		})
	})
	g := gt.Start(t, `
[[upstreams]]
name = "up"
targets = [{ url = "`+up.URL+`" }]

[[routes]]
name = "stream"
paths = ["/"]
upstream = "up"
  [[routes.plugins]]
  name = "concurrency-limit"
  [routes.plugins.config]
  max_in_flight = 1
`)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write([]byte("GET /stream HTTP/1.1\r\nHost: gw\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var got strings.Builder
	for !strings.Contains(got.String(), "data: first") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v (so far %q)", err, got.String())
		}
		got.WriteString(line)
	}
	if !strings.HasPrefix(got.String(), "HTTP/1.1 200") {
		t.Fatalf("stream: %q", got.String())
	}

	// The stream is open: its slot is taken.
	if st, _, resp := gt.Do(t, "GET", g.URL+"/other", nil); st != 503 || string(resp.Header.Peek("Retry-After")) != "1" {
		t.Fatalf("while the stream is open: %d, want 503", st)
	}
	if st := stats(t, g); st.InFlight != 1 {
		t.Errorf("in flight while streaming: %+v", st)
	}

	release()
	for !strings.Contains(got.String(), "0\r\n\r\n") {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the end of the stream: %v", err)
		}
		got.WriteString(line)
	}
	if !strings.Contains(got.String(), "data: last") {
		t.Fatalf("stream: %q", got.String())
	}
	// The gateway gives the slot back right after it wrote the last
	// chunk, which the client may read first.
	deadline := time.Now().Add(10 * time.Second)
	for stats(t, g).InFlight != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slot was not given back within 10s of the stream's end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st, body, _ := gt.Do(t, "GET", g.URL+"/other", nil); st != 200 || string(body) != "small" {
		t.Errorf("after the stream: %d %s", st, body)
	}
}
