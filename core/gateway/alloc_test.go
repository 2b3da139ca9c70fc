package gateway_test

import "testing"

// TestProxyPathDoesNotAllocate guards the performance rule of DESIGN.md:
// the plain proxy path, and the typical chain, allocate nothing per request
// in steady state.
func TestProxyPathDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, tc := range []struct {
		name, plugins string
		extra         []string
		draining      bool
	}{
		{"empty chain", "", nil, false},
		{"typical chain", typicalChain, nil, false},
		{"behind a trusted proxy", trustedLoopback + typicalChain, behindProxy, false},
		{"typical chain, draining", typicalChain, nil, true},
		// [tracing] is on by default: the requests above start a trace;
		// these continue the client's.
		{"traceparent continued", typicalChain, withTraceparent, false},
		{"tracestate rewritten", typicalChain, withTracestateLines, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := benchGateway(t, tc.plugins)
			if tc.draining {
				g.Drain() // every response asks for Connection: close
			}
			req, fc := benchRequest(tc.extra...)
			n := testing.AllocsPerRun(500, func() { serveOnce(t, g, req, fc) })
			if n != 0 {
				t.Errorf("%v allocations per request, want 0", n)
			}
		})
	}
}
