package acl

import (
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

func BenchmarkACL(b *testing.B) {
	inst, err := New(plugin.Spec{Config: config.NewTable("config", map[string]any{"allow": []any{"admins"}, "deny": []any{"banned"}})})
	if err != nil {
		b.Fatal(err)
	}
	step := inst.(*Plugin)
	c := plugintest.NewContext(&fasthttp.RequestCtx{})
	c.Consumer = &consumer.Consumer{Name: "alice", Groups: []string{"users", "ops", "admins"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if step.OnRequest(c) != nil {
			b.Fatal("denied")
		}
	}
}

func TestACL(t *testing.T) {
	inst, err := New(plugin.Spec{Config: config.NewTable("config", map[string]any{"allow": []any{"admins"}, "deny": []any{"banned"}})})
	if err != nil {
		t.Fatal(err)
	}
	step := inst.(*Plugin)
	cases := []struct {
		consumer *consumer.Consumer
		status   int
	}{
		{nil, 401},
		{&consumer.Consumer{Name: "a", Groups: []string{"admins"}}, 0},
		{&consumer.Consumer{Name: "a", Groups: []string{"admins", "banned"}}, 403},
		{&consumer.Consumer{Name: "a", Groups: []string{"users"}}, 403},
		{&consumer.Consumer{Name: "a", Groups: []string{"admins"}, Anonymous: true}, 403},
	}
	for i, tc := range cases {
		c := plugintest.NewContext(&fasthttp.RequestCtx{})
		c.Consumer = tc.consumer
		err := step.OnRequest(c)
		got := 0
		if e, ok := err.(*plugin.Error); ok {
			got = e.Status
		}
		if got != tc.status {
			t.Fatalf("case %d: status %d, want %d", i, got, tc.status)
		}
		plugintest.Release(c)
	}
}
