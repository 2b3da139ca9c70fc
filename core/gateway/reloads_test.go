package gateway_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway"
	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
)

// TestReloadsHistory reloads a gateway four times (ok, refused, ok with a
// changed route, ok) and reads GET /reloads: the reloads newest first,
// each with its time, result, the hash serving after it and, for the
// refused one, the problem with its file and line.
func TestReloadsHistory(t *testing.T) {
	const base = `[[routes]]
name = "r"
paths = ["/"]
  [[routes.plugins]]
  name = "mock"
`
	g := gt.Start(t, base)
	reloads := func() []gateway.ReloadRecord {
		t.Helper()
		st, body, _ := gt.Do(t, "GET", g.AdminURL+"/reloads", nil)
		if st != 200 {
			t.Fatalf("GET /reloads: %d %s", st, body)
		}
		var out []gateway.ReloadRecord
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("GET /reloads: %v: %s", err, body)
		}
		return out
	}
	if got := reloads(); len(got) != 0 {
		t.Fatalf("before any reload: %+v, want []", got)
	}
	first := g.Runtime().Config.Hash
	start := time.Now().Add(-time.Second)

	if res := g.Reload(); !res.OK {
		t.Fatalf("reload 1: %v", res.Messages)
	}
	g.Rewrite(t, strings.Replace(base, `paths = ["/"]`, `paths = ["/"]`+"\nupstream = \"nope\"", 1))
	if res := g.Reload(); res.OK {
		t.Fatal("reload 2 of an unknown upstream succeeded")
	}
	g.Rewrite(t, strings.Replace(base, `"/"`, `"/v2/"`, 1))
	if res := g.Reload(); !res.OK {
		t.Fatalf("reload 3: %v", res.Messages)
	}
	second := g.Runtime().Config.Hash
	if second == first {
		t.Fatal("a changed route kept the configuration's hash")
	}

	got := reloads()
	if len(got) != 3 {
		t.Fatalf("got %d reloads, want 3: %+v", len(got), got)
	}
	want := []struct {
		ok   bool
		hash string
		err  string
	}{
		{true, second, ""},
		{false, first, `moongate.toml:8: routes[0].upstream: unknown upstream "nope"`},
		{true, first, ""},
	}
	for i, w := range want {
		r := got[i]
		if r.OK != w.ok || r.Hash != w.hash {
			t.Errorf("reload %d (newest first): ok %v hash %q, want ok %v hash %q", i, r.OK, r.Hash, w.ok, w.hash)
		}
		if w.err == "" && len(r.Errors) != 0 {
			t.Errorf("reload %d: errors %q, want none", i, r.Errors)
		}
		if w.err != "" && (len(r.Errors) != 1 || !strings.HasSuffix(r.Errors[0], w.err)) {
			t.Errorf("reload %d: errors %q, want one ending in %q", i, r.Errors, w.err)
		}
		if r.Time.Before(start) || r.Time.After(time.Now()) {
			t.Errorf("reload %d: time %v, not during the test", i, r.Time)
		}
		if i > 0 && r.Time.After(got[i-1].Time) {
			t.Errorf("reload %d at %v is after the newer %v", i, r.Time, got[i-1].Time)
		}
	}
}

// TestReloadsHistoryIsBounded reloads 25 times: GET /reloads keeps the
// last 20, and a refused reload with many problems keeps ten lines of
// them, the last one counting the rest.
func TestReloadsHistoryIsBounded(t *testing.T) {
	const base = `[[routes]]
name = "r"
paths = ["/"]
  [[routes.plugins]]
  name = "mock"
`
	g := gt.Start(t, base)
	for i := 0; i < 24; i++ {
		if res := g.Reload(); !res.OK {
			t.Fatalf("reload %d: %v", i, res.Messages)
		}
	}
	var many strings.Builder
	many.WriteString(base)
	for i := 0; i < 15; i++ {
		many.WriteString("[[routes]]\nname = \"x" + strconv.Itoa(i) + "\"\npaths = [\"/x" + strconv.Itoa(i) + "\"]\nupstream = \"nope\"\n")
	}
	g.Rewrite(t, many.String())
	if res := g.Reload(); res.OK || len(res.Messages) != 15 {
		t.Fatalf("reload with 15 problems: ok %v, %d messages", res.OK, len(res.Messages))
	}
	got := g.Reloads()
	if len(got) != 20 {
		t.Fatalf("%d reloads kept, want 20", len(got))
	}
	if got[0].OK || len(got[0].Errors) != 10 || got[0].Errors[9] != "... and 6 more" {
		t.Fatalf("newest: ok %v, %d errors, last %q; want a refused reload with 10 lines ending in \"... and 6 more\"",
			got[0].OK, len(got[0].Errors), got[0].Errors[len(got[0].Errors)-1])
	}
	for i, r := range got[1:] {
		if !r.OK {
			t.Fatalf("reload %d: refused, want ok", i+1)
		}
	}
}
