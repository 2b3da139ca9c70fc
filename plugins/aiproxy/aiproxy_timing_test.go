package aiproxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/plugins/aiproxy/providertest"
	"github.com/moongate/moongate/plugins/aiproxy/sse"
	"github.com/moongate/moongate/plugins/aiproxy/translate"
	"github.com/valyala/fasthttp"
)

// What the gateway adds to an LLM call, measured side by side with the
// same call made directly to the provider: a client, the gateway and a
// fasthttp mock provider in one process, one request at a time, over
// loopback. ns/op is the latency of one request; cpu-ns/op the CPU the
// whole process spent on it (client and provider included, so the
// difference between "direct" and "gateway" is the gateway's CPU);
// ns/event and cpu-ns/event divide by the events of a stream.
//
//	go test -run '^$' -bench 'JSON|Stream' -benchmem ./plugins/aiproxy/

const benchEvents = 100

// benchProvider answers chat completions (OpenAI) and messages
// (Anthropic), as JSON or as a stream of benchEvents events.
func benchProvider(b *testing.B) string {
	pieces := make([]string, benchEvents-4)
	for i := range pieces {
		pieces[i] = " token"
	}
	oaJSON := providertest.OpenAIChat("gpt-4o", strings.Join(pieces[:20], ""), providertest.DefaultUsage)
	anJSON := providertest.AnthropicMessage("claude", strings.Join(pieces[:20], ""), providertest.DefaultUsage)
	oaStream := providertest.OpenAIStream("gpt-4o", pieces, &providertest.DefaultUsage)
	anStream := providertest.AnthropicStream("claude", pieces[:len(pieces)-2], providertest.DefaultUsage)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		anthropic := bytes.HasSuffix(ctx.Path(), []byte("/messages"))
		if !bytes.Contains(ctx.PostBody(), []byte(`"stream":true`)) {
			ctx.SetContentType("application/json")
			if anthropic {
				ctx.SetBody(anJSON)
			} else {
				ctx.SetBody(oaJSON)
			}
			return
		}
		evs := oaStream
		if anthropic {
			evs = anStream
		}
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for _, ev := range evs {
				w.Write(ev)
				w.Flush()
			}
		})
	}}
	go srv.Serve(ln) //nolint:errcheck // ends at Shutdown
	b.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// benchGateway starts a gateway whose ai-proxy step sends "gpt" to the
// OpenAI-shaped provider and "claude" to the Anthropic-shaped one.
func benchGateway(b *testing.B, provider string) string {
	g := gatewaytest.Start(b, `
[log]
level = "error"

[[routes]]
name = "ai"
paths = ["/v1/"]
  [[routes.plugins]]
  name = "ai-proxy"
  [routes.plugins.config]
    [[routes.plugins.config.providers]]
    name = "oa"
    type = "openai"
    base_url = "`+provider+`/v1"
    keys = ["sk-bench-0000"]
    [[routes.plugins.config.providers]]
    name = "an"
    type = "anthropic"
    base_url = "`+provider+`"
    keys = ["sk-ant-bench-0000"]
    [[routes.plugins.config.models]]
    name = "gpt"
    targets = [{ provider = "oa", model = "gpt-4o" }]
    [[routes.plugins.config.models]]
    name = "claude"
    targets = [{ provider = "an", model = "claude" }]
`)
	return g.URL
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru) //nolint:errcheck // Linux and macOS have it
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchCalls runs b.N requests and reports the CPU per request (and per
// event when events > 0).
func benchCalls(b *testing.B, url, path, body string, events int) {
	c := &fasthttp.Client{ReadTimeout: 10 * time.Second, MaxConnsPerHost: 4}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.Header.SetMethod("POST")
	req.SetRequestURI(url + path)
	req.Header.SetContentType("application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.SetBodyString(body)
	do := func() {
		if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
			b.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body())
		}
	}
	do()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuNow()
	for i := 0; i < b.N; i++ {
		do()
	}
	used := cpuNow() - cpu
	b.StopTimer()
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if events > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N*events), "cpu-ns/event")
	}
}

const (
	benchChat     = `{"model":"%s","messages":[{"role":"user","content":"Hi"}],"max_tokens":50}`
	benchChatS    = `{"model":"%s","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}],"max_tokens":50}`
	benchMessages = `{"model":"%s","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}`
)

func bodyFor(tmpl, model string) string { return strings.Replace(tmpl, "%s", model, 1) }

// BenchmarkJSON: one chat completion, directly and through the gateway
// (same API on both sides: pass-through; OpenAI client on an Anthropic
// provider: translated).
func BenchmarkJSON(b *testing.B) {
	p := benchProvider(b)
	g := benchGateway(b, p)
	b.Run("direct", func(b *testing.B) { benchCalls(b, p, "/v1/chat/completions", bodyFor(benchChat, "gpt-4o"), 0) })
	b.Run("gateway-passthrough", func(b *testing.B) { benchCalls(b, g, "/v1/chat/completions", bodyFor(benchChat, "gpt"), 0) })
	b.Run("gateway-translated", func(b *testing.B) { benchCalls(b, g, "/v1/chat/completions", bodyFor(benchChat, "claude"), 0) })
}

// BenchmarkStream: one streamed chat completion of benchEvents events.
func BenchmarkStream(b *testing.B) {
	p := benchProvider(b)
	g := benchGateway(b, p)
	b.Run("direct", func(b *testing.B) {
		benchCalls(b, p, "/v1/chat/completions", bodyFor(benchChatS, "gpt-4o"), benchEvents)
	})
	b.Run("gateway-passthrough", func(b *testing.B) {
		benchCalls(b, g, "/v1/chat/completions", bodyFor(benchChatS, "gpt"), benchEvents)
	})
	b.Run("gateway-translated", func(b *testing.B) {
		benchCalls(b, g, "/v1/chat/completions", bodyFor(benchChatS, "claude"), benchEvents-4)
	})
	b.Run("direct-anthropic", func(b *testing.B) {
		benchCalls(b, p, "/v1/messages", strings.Replace(bodyFor(benchMessages, "claude"), `"max_tokens"`, `"stream":true,"max_tokens"`, 1), benchEvents-4)
	})
	b.Run("gateway-anthropic-translated", func(b *testing.B) {
		benchCalls(b, g, "/v1/messages", strings.Replace(bodyFor(benchMessages, "gpt"), `"max_tokens"`, `"stream":true,"max_tokens"`, 1), benchEvents)
	})
}

// loopStream is an endless provider stream: the same events again and
// again, without allocating.
type loopStream struct {
	data []byte
	off  int
}

func (l *loopStream) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

// eventLoop returns a call in the middle of a stream of mode m, reading
// the provider's events ev forever.
func eventLoop(m streamMode, ev []byte) *call {
	cl := callPool.Get().(*call)
	cl.mode = m
	cl.rd.Reset(&loopStream{data: ev}, 0)
	cl.toOpenAI.Reset(translate.ResponseOptions{Model: "m", Created: 1}, true)
	cl.toAnth.Reset(translate.ResponseOptions{Model: "m"})
	return cl
}

var (
	openAIChunk = providertest.OpenAIStream("gpt-4o", []string{" token"}, nil)[1]
	anthDelta   = providertest.AnthropicStream("claude", []string{" token"}, providertest.DefaultUsage)[3]
)

// startedLoops returns the stream loops of every mode, each past the
// events that open a stream.
func startedLoops() map[string]*call {
	out := map[string]*call{
		"passthrough-openai":    eventLoop(modePassOpenAI, openAIChunk),
		"passthrough-anthropic": eventLoop(modePassAnthropic, anthDelta),
		"anthropic-to-openai":   eventLoop(modeToOpenAI, anthDelta),
		"openai-to-anthropic":   eventLoop(modeToAnthropic, openAIChunk),
	}
	start := providertest.AnthropicStream("claude", nil, providertest.DefaultUsage)
	for _, ev := range start[:2] { // message_start, content_block_start
		r := sse.NewReader(bytes.NewReader(ev), 0)
		e, _ := r.Next()
		out["anthropic-to-openai"].toOpenAI.Event(nil, e.Type, e.Data)
	}
	out["openai-to-anthropic"].toAnth.Event(nil, nil, bytes.TrimSpace(bytes.TrimPrefix(openAIChunk, []byte("data: "))))
	return out
}

// BenchmarkStreamEvent: the gateway's work for one provider event (read,
// account, translate or pass, write), without the network.
func BenchmarkStreamEvent(b *testing.B) {
	for name, cl := range startedLoops() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if out := cl.next(); len(out) == 0 {
					b.Fatal("no output")
				}
				io.Discard.Write(cl.out)
			}
		})
	}
}

// A streamed event allocates nothing, passed through or translated,
// once the buffers have grown.
func TestStreamEventAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations differ under -race")
	}
	for name, cl := range startedLoops() {
		for i := 0; i < 10; i++ {
			cl.next()
		}
		if n := testing.AllocsPerRun(1000, func() {
			if len(cl.next()) == 0 {
				t.Fatal("no output")
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per event, want 0", name, n)
		}
	}
}
