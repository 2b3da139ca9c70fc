package opentelemetry_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/headers"
	_ "github.com/moongate/moongate/plugins/mock"
	"github.com/moongate/moongate/plugins/opentelemetry"
	_ "github.com/moongate/moongate/plugins/requestid"
	"github.com/valyala/fasthttp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is a loopback OTLP/HTTP collector: it decodes every
// ExportTraceServiceRequest posted to /v1/traces and hands its spans over
// on a channel, with the resource's service.name.
type receiver struct {
	URL   string
	spans chan received
	// hold, when not nil, makes every export wait until it is closed.
	hold chan struct{}
}

type received struct {
	span    *tracepb.Span
	service string
}

func startReceiver(t *testing.T, hold chan struct{}) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{URL: "http://" + ln.Addr().String() + "/v1/traces", spans: make(chan received, 1000), hold: hold}
	srv := &http.Server{Handler: http.HandlerFunc(r.serve)}
	go srv.Serve(ln) //nolint:errcheck // ends at Close
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.hold != nil {
		<-r.hold
	}
	body, err := io.ReadAll(req.Body)
	if err == nil && req.Header.Get("Content-Encoding") == "gzip" {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
			body, err = io.ReadAll(zr)
		}
	}
	var msg coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &msg)
	}
	if err != nil || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad export", 400)
		return
	}
	for _, rs := range msg.ResourceSpans {
		service := attr(rs.GetResource().GetAttributes(), "service.name").GetStringValue()
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans <- received{span: s, service: service}
			}
		}
	}
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out) //nolint:errcheck // the test sees the spans
}

func attr(kvs []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// next returns the next span the receiver got, failing after 10 seconds.
func (r *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case s := <-r.spans:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no span exported within 10s")
	}
	return received{}
}

// serverSpan waits for the server span of the trace traceID (hex), with
// its children (every span of the trace exported before it: children end
// first), skipping the spans of other traces.
func (r *receiver) serverSpan(t *testing.T, traceID string) (received, []*tracepb.Span) {
	t.Helper()
	var children []*tracepb.Span
	for {
		s := r.next(t)
		if hex.EncodeToString(s.span.TraceId) != traceID {
			continue
		}
		if s.span.Kind == tracepb.Span_SPAN_KIND_SERVER {
			return s, children
		}
		children = append(children, s.span)
	}
}

const (
	clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan  = "00f067aa0ba902b7"
)

// TestSpanExported: a sampled request through a real gateway to a real
// upstream is exported as a server span carrying the trace ID and span ID
// the upstream received in traceparent, the client's span as its parent,
// the route, method, status and upstream target, and a child span per
// step and for the upstream call, inside it.
func TestSpanExported(t *testing.T) {
	rc := startReceiver(t, nil)
	var mu sync.Mutex
	var upstreamGot []string
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		upstreamGot = append(upstreamGot, string(ctx.Request.Header.Peek("Traceparent")))
		mu.Unlock()
		ctx.SetBodyString("ok")
	})
	g := gt.Start(t, `
[[plugins]]
name = "opentelemetry"
[plugins.config]
endpoint = "`+rc.URL+`"
service_name = "edge"
flush_interval = "20ms"
compression = "gzip"
[[plugins]]
name = "request-id"
[[plugins]]
name = "headers"
[plugins.config.response]
set = { "X-Served-By" = "moongate" }
[[upstreams]]
name = "users"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
name = "api"
paths = ["/api/"]
upstream = "users"
[[routes]]
name = "down"
paths = ["/down"]
  [[routes.plugins]]
  name = "mock"
  [routes.plugins.config]
  status = 503
  body = "maintenance"
`)
	// Not sampled: no span. Sent first, so that its span, if any, would
	// come before the sampled request's (one queue, in order).
	const unsampled = "0af7651916cd43dd8448eb211c80319c"
	if st, _, _ := gt.Do(t, "GET", g.URL+"/api/x", nil, "Traceparent", "00-"+unsampled+"-b7ad6b7169203331-00"); st != 200 {
		t.Fatalf("unsampled request: status %d", st)
	}
	st, _, _ := gt.Do(t, "GET", g.URL+"/api/users/42?secret=x", nil, "Traceparent", "00-"+clientTrace+"-"+clientSpan+"-01",
		"User-Agent", "e2e")
	if st != 200 {
		t.Fatalf("status %d", st)
	}
	var children []*tracepb.Span
	for {
		s := rc.next(t)
		tid := hex.EncodeToString(s.span.TraceId)
		if tid == unsampled {
			t.Fatalf("the unsampled request's span was exported: %v", s.span)
		}
		if s.span.Kind != tracepb.Span_SPAN_KIND_SERVER {
			children = append(children, s.span)
			continue
		}
		mu.Lock()
		sent := upstreamGot[len(upstreamGot)-1]
		mu.Unlock()
		sp := s.span
		if got, want := "00-"+tid+"-"+hex.EncodeToString(sp.SpanId)+"-01", sent; got != want {
			t.Errorf("span is %s, upstream got traceparent %s", got, want)
		}
		if tid != clientTrace || hex.EncodeToString(sp.ParentSpanId) != clientSpan {
			t.Errorf("span trace %s parent %x, want the client's %s %s", tid, sp.ParentSpanId, clientTrace, clientSpan)
		}
		if sp.Name != "GET api" || s.service != "edge" || sp.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("span %q of service %q, status %v", sp.Name, s.service, sp.Status)
		}
		for key, want := range map[string]string{"http.request.method": "GET", "url.path": "/api/users/42",
			"moongate.route": "api", "moongate.upstream": "users", "moongate.upstream.target": up.Addr,
			"user_agent.original": "e2e", "client.address": "127.0.0.1"} {
			if got := attr(sp.Attributes, key).GetStringValue(); got != want {
				t.Errorf("attribute %s = %q, want %q", key, got, want)
			}
		}
		if got := attr(sp.Attributes, "http.response.status_code").GetIntValue(); got != 200 {
			t.Errorf("http.response.status_code = %d, want 200", got)
		}
		for _, kv := range sp.Attributes {
			if strings.Contains(kv.Value.String(), "secret") {
				t.Errorf("attribute %s holds the query: %v", kv.Key, kv.Value)
			}
		}
		checkChildren(t, sp, children, up.Addr)
		break
	}

	// A 5xx answer is an error span.
	if st, _, _ := gt.Do(t, "GET", g.URL+"/down", nil, "Traceparent", "00-"+clientTrace[:30]+"ff-"+clientSpan+"-01"); st != 503 {
		t.Fatalf("/down: status %d", st)
	}
	s, _ := rc.serverSpan(t, clientTrace[:30]+"ff")
	if s.span.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || attr(s.span.Attributes, "http.response.status_code").GetIntValue() != 503 ||
		attr(s.span.Attributes, "moongate.upstream.target") != nil {
		t.Errorf("/down span: status %v, attributes %v", s.span.Status, s.span.Attributes)
	}

	// A trace the gateway starts (no traceparent) is exported as a root.
	if st, _, _ := gt.Do(t, "GET", g.URL+"/api/new", nil); st != 200 {
		t.Fatalf("status %d", st)
	}
	mu.Lock()
	sent := upstreamGot[len(upstreamGot)-1]
	mu.Unlock()
	root, _ := rc.serverSpan(t, sent[3:35])
	if hex.EncodeToString(root.span.SpanId) != sent[36:52] || len(root.span.ParentSpanId) != 0 {
		t.Errorf("new trace: span %x parent %x, upstream got %s", root.span.SpanId, root.span.ParentSpanId, sent)
	}
}

// checkChildren checks the step and upstream spans of the server span sp:
// each a child of sp, inside it, in the order the chain ran.
func checkChildren(t *testing.T, sp *tracepb.Span, children []*tracepb.Span, target string) {
	t.Helper()
	var names []string
	last := sp.StartTimeUnixNano
	for _, c := range sortByStart(children) {
		names = append(names, c.Name)
		if !bytes.Equal(c.ParentSpanId, sp.SpanId) || !bytes.Equal(c.TraceId, sp.TraceId) {
			t.Errorf("span %q: parent %x, want %x", c.Name, c.ParentSpanId, sp.SpanId)
		}
		if c.StartTimeUnixNano < last || c.EndTimeUnixNano < c.StartTimeUnixNano || c.EndTimeUnixNano > sp.EndTimeUnixNano {
			t.Errorf("span %q [%d, %d] overlaps the one before (ending %d) or leaves the server span [%d, %d]",
				c.Name, c.StartTimeUnixNano, c.EndTimeUnixNano, last, sp.StartTimeUnixNano, sp.EndTimeUnixNano)
		}
		last = c.EndTimeUnixNano
		if c.Name == "upstream users" {
			if c.Kind != tracepb.Span_SPAN_KIND_CLIENT || attr(c.Attributes, "server.port").GetIntValue() == 0 {
				t.Errorf("upstream span: kind %v, attributes %v", c.Kind, c.Attributes)
			}
		}
	}
	want := "opentelemetry request,request-id request,headers request,upstream users,headers response,request-id response,opentelemetry response"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("child spans\n got %s\nwant %s", got, want)
	}
}

func sortByStart(spans []*tracepb.Span) []*tracepb.Span {
	out := append([]*tracepb.Span(nil), spans...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].StartTimeUnixNano < out[j-1].StartTimeUnixNano; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestCollectorHangs: a collector that accepts the connection and never
// answers delays no request; the spans that do not fit the queue are
// dropped and counted.
func TestCollectorHangs(t *testing.T) {
	hold := make(chan struct{})
	rc := startReceiver(t, hold)
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := gt.Start(t, `
[[plugins]]
name = "opentelemetry"
[plugins.config]
endpoint = "`+rc.URL+`"
flush_interval = "10ms"
batch_size = 1
queue_size = 2
timeout = "30s"
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "u"
`)
	// Registered after the gateway: runs before its shutdown, which sends
	// what is queued.
	t.Cleanup(func() { close(hold) })
	_, before, _ := opentelemetry.Stats()
	client := gt.Client()
	for i := 0; i < 50; i++ {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(g.URL + "/x")
		// A request held up by the export would time out here.
		if err := client.DoTimeout(req, resp, 5*time.Second); err != nil || resp.StatusCode() != 200 {
			t.Fatalf("request %d with the collector hanging: %v, status %d", i, err, resp.StatusCode())
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
	// 50 spans, one export in flight (hanging) and a queue of 2: most are
	// dropped. The log phase runs after the response: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, after, _ := opentelemetry.Stats()
		if after-before >= 40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spans counted as dropped, want at least 40 of 50", after-before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCollectorDown: with nothing listening at the endpoint, requests
// succeed and the spans of the failed exports are counted.
func TestCollectorDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	g := gt.Start(t, `
[[plugins]]
name = "opentelemetry"
[plugins.config]
endpoint = "http://`+addr+`/v1/traces"
flush_interval = "10ms"
timeout = "1s"
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "u"
`)
	_, _, before := opentelemetry.Stats()
	for i := 0; i < 5; i++ {
		if st, _, _ := gt.Do(t, "GET", g.URL+"/x", nil); st != 200 {
			t.Fatalf("status %d with the collector down", st)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, after := opentelemetry.Stats(); after > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no failed export counted within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
