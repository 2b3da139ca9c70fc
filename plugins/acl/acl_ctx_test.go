package acl

import (
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

func TestCtxGroups(t *testing.T) {
	build := func(extra map[string]any) *Plugin {
		raw := map[string]any{"allow": []any{"admins"}, "deny": []any{"banned"}, "ctx_groups": "groups"}
		for k, v := range extra {
			raw[k] = v
		}
		inst, err := New(plugin.Spec{Config: config.NewTable("config", raw)})
		if err != nil {
			t.Fatal(err)
		}
		return inst.(*Plugin)
	}
	kongLike, always := build(nil), build(map[string]any{"always_use_ctx_groups": true})
	admin := &consumer.Consumer{Name: "a", Groups: []string{"admins"}}
	user := &consumer.Consumer{Name: "u", Groups: []string{"users"}}
	anon := &consumer.Consumer{Name: "guest", Groups: []string{"public"}, Anonymous: true}
	for _, tc := range []struct {
		name     string
		p        *Plugin
		consumer *consumer.Consumer
		groups   any
		status   int
	}{
		{"no consumer, no groups", kongLike, nil, nil, 401},
		{"no consumer, list", kongLike, nil, []any{"users", "admins"}, 0},
		{"no consumer, []string", kongLike, nil, []string{"admins"}, 0},
		{"no consumer, comma-separated", kongLike, nil, "ops, admins", 0},
		{"no consumer, not allowed", kongLike, nil, []any{"users"}, 403},
		{"no consumer, denied", kongLike, nil, "admins,banned", 403},
		{"no consumer, not a list", kongLike, nil, 42.0, 403},
		{"anonymous consumer uses ctx groups", kongLike, anon, []any{"admins"}, 0},
		{"anonymous consumer without them", kongLike, anon, nil, 403},
		{"a consumer's own groups win", kongLike, user, []any{"admins"}, 403},
		{"a consumer's own groups win (allowed)", kongLike, admin, []any{"banned"}, 0},
		{"always: ctx groups win", always, admin, []any{"banned"}, 403},
		{"always: consumer groups when unset", always, admin, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := plugintest.NewContext(&fasthttp.RequestCtx{})
			defer plugintest.Release(c)
			c.Consumer = tc.consumer
			if tc.groups != nil {
				c.SetValue("groups", tc.groups)
			}
			got := 0
			if err := tc.p.OnRequest(c); err != nil {
				got = err.(*plugin.Error).Status
			}
			if got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
		})
	}
}

func TestHideGroupsHeader(t *testing.T) {
	inst, err := New(plugin.Spec{Config: config.NewTable("config", map[string]any{"allow": []any{"admins"}, "hide_groups_header": true})})
	if err != nil {
		t.Fatal(err)
	}
	fc := &fasthttp.RequestCtx{}
	fc.Request.Header.Set("X-Consumer-Groups", "admins")
	c := plugintest.NewContext(fc)
	defer plugintest.Release(c)
	c.Consumer = &consumer.Consumer{Name: "a", Groups: []string{"admins"}}
	if err := inst.(*Plugin).OnRequest(c); err != nil {
		t.Fatal(err)
	}
	if v := fc.Request.Header.Peek("X-Consumer-Groups"); len(v) != 0 {
		t.Fatalf("X-Consumer-Groups %q sent upstream", v)
	}
	if _, err := New(plugin.Spec{Config: config.NewTable("config", map[string]any{"allow": []any{"a"}, "always_use_ctx_groups": true})}); err == nil {
		t.Fatal("always_use_ctx_groups without ctx_groups accepted")
	}
}
