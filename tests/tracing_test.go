package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/tracecontext"
	_ "github.com/moongate/moongate/plugins/lua"
	"github.com/valyala/fasthttp"
)

// traceSeen is what a traceRecorder upstream received: every line of
// traceparent and tracestate.
type traceSeen struct {
	Traceparent []string `json:"traceparent"`
	Tracestate  []string `json:"tracestate"`
}

// traceRecorder is an upstream answering with the trace headers it got.
func traceRecorder(t testing.TB) *gt.Upstream {
	return gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		s := traceSeen{Traceparent: []string{}, Tracestate: []string{}}
		for k, v := range ctx.Request.Header.All() {
			switch strings.ToLower(string(k)) {
			case "traceparent":
				s.Traceparent = append(s.Traceparent, string(v))
			case "tracestate":
				s.Tracestate = append(s.Tracestate, string(v))
			}
		}
		b, _ := json.Marshal(s)
		ctx.SetBody(b)
	})
}

func traceConfig(up *gt.Upstream, tracing string) string {
	return tracing + `
[[upstreams]]
name = "u"
targets = [{ url = "` + up.URL + `" }]
[[routes]]
name = "r"
paths = ["/"]
upstream = "u"
`
}

// sendTrace sends a request with the given headers through g and returns
// what the upstream got.
func sendTrace(t *testing.T, g *gt.Gateway, headers ...string) traceSeen {
	t.Helper()
	st, body, _ := gt.Do(t, "GET", g.URL+"/x", nil, headers...)
	if st != 200 {
		t.Fatalf("status %d: %s", st, body)
	}
	var s traceSeen
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return s
}

// parseSent reads the one traceparent the upstream got, which must be a
// version 00 traceparent the gateway wrote.
func parseSent(t *testing.T, s traceSeen) (traceID, parentID string, flags string) {
	t.Helper()
	if len(s.Traceparent) != 1 {
		t.Fatalf("upstream got %d traceparent lines %q, want 1", len(s.Traceparent), s.Traceparent)
	}
	tp := s.Traceparent[0]
	if _, _, _, ok := tracecontext.ParseTraceparent([]byte(tp)); !ok || !strings.HasPrefix(tp, "00-") || len(tp) != 55 {
		t.Fatalf("upstream got traceparent %q, not a valid version 00 one", tp)
	}
	return tp[3:35], tp[36:52], tp[53:]
}

const (
	clientTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan   = "00f067aa0ba902b7"
	clientParent = "00-" + clientTrace + "-" + clientSpan + "-01"
)

// TestTraceparentPropagated: a client's valid trace goes upstream with the
// same trace ID and sampled flag, the gateway's own span as parent-id, and
// its tracestate.
func TestTraceparentPropagated(t *testing.T) {
	g := gt.Start(t, traceConfig(traceRecorder(t), ""))
	for _, tc := range []struct {
		name, traceparent, tracestate string
		flags, wantState              string
	}{
		{"sampled", clientParent, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "01", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
		{"not sampled stays unsampled", "00-" + clientTrace + "-" + clientSpan + "-00", "", "00", ""},
		{"reserved flags cleared", "00-" + clientTrace + "-" + clientSpan + "-fe", "", "00", ""},
		{"higher version downgraded to 00", "cc-" + clientTrace + "-" + clientSpan + "-01-future", "a=1", "01", "a=1"},
		{"tracestate whitespace dropped", clientParent, " a=1 , ,b=2 ", "01", "a=1,b=2"},
		{"malformed tracestate dropped", clientParent, "a=1,B=2", "01", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := []string{"Traceparent", tc.traceparent}
			if tc.tracestate != "" {
				h = append(h, "Tracestate", tc.tracestate)
			}
			s := sendTrace(t, g, h...)
			traceID, parent, flags := parseSent(t, s)
			if traceID != clientTrace || flags != tc.flags {
				t.Errorf("upstream got trace %s flags %s, want %s %s", traceID, flags, clientTrace, tc.flags)
			}
			if parent == clientSpan {
				t.Errorf("upstream got the client's span %s as parent-id, want the gateway's", parent)
			}
			want := []string{}
			if tc.wantState != "" {
				want = []string{tc.wantState}
			}
			if strings.Join(s.Tracestate, "|") != strings.Join(want, "|") {
				t.Errorf("upstream got tracestate %q, want %q", s.Tracestate, want)
			}
		})
	}
	t.Run("tracestate lines joined in order", func(t *testing.T) {
		// Deleting the hop-by-hop X-Hop moves fasthttp's last header line
		// into its place: the lines are read in the order received.
		s := sendTrace(t, g, "Connection", "X-Hop", "X-Hop", "1", "Traceparent", clientParent, "Tracestate", "a=1",
			"Tracestate", "b=2", "Tracestate", "c=3")
		if strings.Join(s.Tracestate, "|") != "a=1,b=2,c=3" {
			t.Errorf("upstream got tracestate %q, want [a=1,b=2,c=3]", s.Tracestate)
		}
	})
	t.Run("tracestate cut to 32 members", func(t *testing.T) {
		var members []string
		for i := 0; i < 40; i++ {
			members = append(members, "k"+string(rune('a'+i/26))+string(rune('a'+i%26))+"=v")
		}
		s := sendTrace(t, g, "Traceparent", clientParent, "Tracestate", strings.Join(members, ","))
		if strings.Join(s.Tracestate, "|") != strings.Join(members[:32], ",") {
			t.Errorf("upstream got tracestate %q, want the first 32 members", s.Tracestate)
		}
	})
	t.Run("each request its own span", func(t *testing.T) {
		_, a, _ := parseSent(t, sendTrace(t, g, "Traceparent", clientParent))
		_, b, _ := parseSent(t, sendTrace(t, g, "Traceparent", clientParent))
		if a == b {
			t.Errorf("two requests went upstream with the same span %s", a)
		}
	})
}

// TestTraceparentCreated: a request without a valid traceparent starts a
// new trace; a malformed traceparent is never forwarded, never a 500, and
// its tracestate goes with it.
func TestTraceparentCreated(t *testing.T) {
	g := gt.Start(t, traceConfig(traceRecorder(t), ""))
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"absent", nil},
		{"empty", []string{"Traceparent", ""}},
		{"upper-case hex", []string{"Traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", "Tracestate", "a=1"}},
		{"all-zero trace id", []string{"Traceparent", "00-00000000000000000000000000000000-" + clientSpan + "-01", "Tracestate", "a=1"}},
		{"all-zero parent id", []string{"Traceparent", "00-" + clientTrace + "-0000000000000000-01"}},
		{"version ff", []string{"Traceparent", "ff-" + clientTrace + "-" + clientSpan + "-01"}},
		{"version 00 too long", []string{"Traceparent", clientParent + "-extra"}},
		{"garbage", []string{"Traceparent", "<script>alert(1)</script>", "Tracestate", "a=1"}},
		{"long", []string{"Traceparent", "00-" + strings.Repeat("a", 4000)}},
		{"two lines", []string{"Traceparent", clientParent, "Traceparent", clientParent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sendTrace(t, g, tc.headers...)
			traceID, parent, flags := parseSent(t, s)
			if traceID == clientTrace || parent == clientSpan {
				t.Errorf("upstream got %s, want a new trace", s.Traceparent[0])
			}
			if flags != "01" {
				t.Errorf("new trace flags %s, want 01 (sampling_ratio 1 by default)", flags)
			}
			if len(s.Tracestate) != 0 {
				t.Errorf("upstream got tracestate %q with a new trace", s.Tracestate)
			}
		})
	}
	a, _, _ := parseSent(t, sendTrace(t, g))
	b, _, _ := parseSent(t, sendTrace(t, g))
	if a == b {
		t.Errorf("two requests without traceparent share trace %s", a)
	}
}

// TestTraceparentHopByHopIgnored: a client cannot delete the gateway's
// traceparent by naming it in Connection.
func TestTraceparentHopByHopIgnored(t *testing.T) {
	g := gt.Start(t, traceConfig(traceRecorder(t), ""))
	s := sendTrace(t, g, "Connection", "traceparent, tracestate", "Traceparent", clientParent, "Tracestate", "a=1")
	traceID, _, _ := parseSent(t, s)
	// The client's headers named in Connection are hop-by-hop: gone before
	// the gateway reads them, so the trace is new.
	if traceID == clientTrace || len(s.Tracestate) != 0 {
		t.Errorf("upstream got %q %q", s.Traceparent, s.Tracestate)
	}
}

// TestTracingSampling: sampling_ratio decides for the traces the gateway
// starts; a client's flag is kept either way.
func TestTracingSampling(t *testing.T) {
	g := gt.Start(t, traceConfig(traceRecorder(t), "[tracing]\nsampling_ratio = 0\n"))
	if _, _, flags := parseSent(t, sendTrace(t, g)); flags != "00" {
		t.Errorf("new trace with sampling_ratio 0: flags %s, want 00", flags)
	}
	if _, _, flags := parseSent(t, sendTrace(t, g, "Traceparent", clientParent)); flags != "01" {
		t.Errorf("client's sampled trace with sampling_ratio 0: flags %s, want 01", flags)
	}
}

// TestTracingDisabled: with [tracing] enabled = false the headers pass as
// the client sent them, malformed or not, and the setting applies on
// reload.
func TestTracingDisabled(t *testing.T) {
	up := traceRecorder(t)
	g := gt.Start(t, traceConfig(up, "[tracing]\nenabled = false\n"))
	const bad = "not-a-traceparent"
	s := sendTrace(t, g, "Traceparent", bad, "Tracestate", "A=1")
	if strings.Join(s.Traceparent, "|") != bad || strings.Join(s.Tracestate, "|") != "A=1" {
		t.Errorf("upstream got %q %q, want the client's headers", s.Traceparent, s.Tracestate)
	}
	if s := sendTrace(t, g); len(s.Traceparent) != 0 {
		t.Errorf("upstream got traceparent %q with tracing off", s.Traceparent)
	}
	g.Rewrite(t, traceConfig(up, ""))
	if r := g.Reload(); !r.OK {
		t.Fatalf("reload: %v", r.Messages)
	}
	traceID, _, _ := parseSent(t, sendTrace(t, g, "Traceparent", bad))
	if traceID == "" {
		t.Error("no trace after reload with tracing on")
	}
}

// TestTraceIDInLua: gw.request.get_trace_id gives a script the trace ID
// sent upstream.
func TestTraceIDInLua(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "trace.lua")
	if err := os.WriteFile(script, []byte(`return { on_request = function()
  gw.request.set_header("Traceparent-Id", gw.request.get_trace_id() or "none")
end }`), 0o600); err != nil {
		t.Fatal(err)
	}
	up := gt.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBody(append(append(ctx.Request.Header.Peek("Traceparent-Id"), ' '), ctx.Request.Header.Peek("Traceparent")...))
	})
	g := gt.Start(t, "[lua]\ndir = \""+dir+"\"\n"+traceConfig(up, "")+`
  [[routes.plugins]]
  script = "`+script+`"
`)
	_, body, _ := gt.Do(t, "GET", g.URL+"/x", nil, "Traceparent", clientParent)
	if got, want := string(body), clientTrace+" 00-"+clientTrace+"-"; !strings.HasPrefix(got, want) {
		t.Errorf("upstream got %q, want the trace ID %s in both headers", got, clientTrace)
	}
}
