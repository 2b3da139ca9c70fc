package accesslog_test

import (
	"path/filepath"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/moongate/moongate/plugins/accesslog"
)

// logStep builds an access-log step writing format to a file of tb's.
func logStep(tb testing.TB, format string) *accesslog.Plugin {
	tb.Helper()
	inst, err := accesslog.New(plugin.Spec{Name: accesslog.Name, Path: "plugins[0]", Config: config.NewTable("plugins[0].config",
		map[string]any{"output": filepath.Join(tb.TempDir(), "access.log"), "format": format})})
	if err != nil {
		tb.Fatal(err)
	}
	p := inst.(*accesslog.Plugin)
	tb.Cleanup(func() { p.Cleanup() })
	return p
}

// typicalRequest is a request with the fields a line usually has.
func typicalRequest() *plugin.Context {
	c := plugintest.ContextFor(plugintest.Request{Method: "GET", URL: "/users/42?page=2&apikey=s3cret",
		Header: []string{"User-Agent", "curl/8.5.0", "Referer", "https://example.com/",
			"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		Consumer: &consumer.Consumer{Name: "alice"}})
	c.SetRequestID([]byte("7f3c9a2b-1d4e-4f5a-9b6c-0d1e2f3a4b5c"))
	c.Response.SetStatusCode(200)
	c.Response.SetBodyString("hello, world")
	return c
}

// BenchmarkOnLog is the CPU of one access-log line: the record filled
// from the request, formatted, handed to the writer.
func BenchmarkOnLog(b *testing.B) {
	for _, format := range []string{"json", "combined", "$time_iso8601 $request_id $status $request_time"} {
		b.Run(format, func(b *testing.B) {
			p, c := logStep(b, format), typicalRequest()
			defer plugintest.Release(c)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				p.OnLog(c)
			}
		})
	}
}

// BenchmarkCaptureLog is the same line when the chain captures it: the
// record filled and its request fields copied before the write, then
// formatted and handed to the writer after it.
func BenchmarkCaptureLog(b *testing.B) {
	p, c := logStep(b, "json"), typicalRequest()
	defer plugintest.Release(c)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p.CaptureLog(c).FinishLog(c)
	}
}

// TestOnLogDoesNotAllocate guards BenchmarkOnLog's and
// BenchmarkCaptureLog's 0 allocs/op, for every format.
func TestOnLogDoesNotAllocate(t *testing.T) {
	for _, format := range []string{"json", "combined", "$request $status $trace_id $consumer $upstream"} {
		p, c := logStep(t, format), typicalRequest()
		for range 2000 { // the writer's batches
			p.OnLog(c)
		}
		plugintest.NoAllocs(t, func() { p.OnLog(c) })
		plugintest.NoAllocs(t, func() { p.CaptureLog(c).FinishLog(c) })
		plugintest.Release(c)
	}
}
