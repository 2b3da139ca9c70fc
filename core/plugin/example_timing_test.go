package plugin_test

import (
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
)

// helloStep builds the hello step from its configuration.
func helloStep(tb plugintest.TB) *Hello {
	ch := plugintest.New(tb, `
[[plugins]]
name = "hello"
`)
	return ch.Instances()[0].(*Hello)
}

// BenchmarkHello runs both phases of the hello step on one context, as
// the chain calls them for every request.
func BenchmarkHello(b *testing.B) {
	h := helloStep(b)
	c := plugintest.ContextFor(plugintest.Request{Header: []string{"X-Name", "Ada"}})
	defer plugintest.Release(c)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h.OnRequest(c); err != nil {
			b.Fatal(err)
		}
		h.OnResponse(c)
	}
}

// TestHelloAllocatesNothing is the hello step's zero-allocation guard.
func TestHelloAllocatesNothing(t *testing.T) {
	h := helloStep(t)
	c := plugintest.ContextFor(plugintest.Request{Header: []string{"X-Name", "Ada"}})
	defer plugintest.Release(c)
	plugintest.NoAllocs(t, func() {
		h.OnRequest(c)
		h.OnResponse(c)
	})
	if got := string(c.Request.Header.Peek("X-Greeting")); got != "hello, Ada" {
		t.Fatalf("X-Greeting %q, want %q", got, "hello, Ada")
	}
}
