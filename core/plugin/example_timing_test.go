package plugin_test

import (
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
)

func BenchmarkHello(b *testing.B) {
	h := plugintest.New(b, "[[plugins]]\nname = \"hello\"\n").Instances()[0].(*Hello)
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

func TestHelloAllocatesNothing(t *testing.T) {
	h := plugintest.New(t, "[[plugins]]\nname = \"hello\"\n").Instances()[0].(*Hello)
	c := plugintest.ContextFor(plugintest.Request{Header: []string{"X-Name", "Ada"}})
	defer plugintest.Release(c)
	plugintest.NoAllocs(t, func() {
		h.OnRequest(c)
		h.OnResponse(c)
	})
}
