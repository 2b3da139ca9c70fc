package aiproxy

import (
	"testing"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
)

// A budget is kept across reloads (the same limits build the same
// limiter) and starts afresh when the limits or their policy change.
func TestTokenLimitsKeptAcrossReloads(t *testing.T) {
	spec := plugin.Spec{Route: "limits-reload", Path: "routes[0].plugins[0]"}
	cfg := LimitsConfig{TokensPerMinute: 100, By: "consumer", Policy: "local", OnRedisError: "local", Nodes: 1}
	a, err := newTokenLimits(spec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newTokenLimits(spec, cfg)
	if a.budget != b.budget {
		t.Fatal("the same limits built a new limiter: a reload would hand out fresh budgets")
	}
	cfg.TokensPerMinute = 200
	if c, _ := newTokenLimits(spec, cfg); c.budget == a.budget {
		t.Fatal("changed limits kept the old limiter")
	}
}

// The check and the charge of policy "local" allocate nothing.
func TestTokenLimitsLocalAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations differ under -race")
	}
	tl, err := newTokenLimits(plugin.Spec{Route: "limits-allocs"},
		LimitsConfig{TokensPerMinute: 1 << 30, By: "consumer", Policy: "local", OnRedisError: "local", Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("c:alice")
	var res ratelimit.Result
	tl.check(key, &res)
	tl.charge(key, 17, &res)
	if n := testing.AllocsPerRun(1000, func() {
		if !tl.check(key, &res) {
			t.Fatal("refused")
		}
		tl.charge(key, 17, &res)
	}); n != 0 {
		t.Errorf("%v allocations per check and charge, want 0", n)
	}
}
