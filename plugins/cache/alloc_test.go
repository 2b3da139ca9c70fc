package cache_test

import "testing"

// TestCacheHitAllocatesNothing guards the hit path: a small cached
// response served through the gateway's ServeHTTP allocates nothing.
func TestCacheHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, tc := range []struct {
		name, conf string
		upHeaders  []string
	}{
		{"plain", "", nil},
		{"key headers", `key_headers = ["Accept"]`, nil},
		{"vary", "", []string{"Vary", "Accept"}},
		{"trusted proxy with forwarded host", "trusted", nil},
		{"anonymous consumer", "anonymous", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newHitServer(t, 100, tc.conf, tc.upHeaders...)
			if n := testing.AllocsPerRun(200, s.serve); n != 0 {
				t.Fatalf("a cache hit allocates %v times, want 0", n)
			}
		})
	}
}

// TestCacheRangeHitAllocatesNothing: a Range request answered from a
// stored response (a 206 cut from it) allocates nothing either, also once
// the response body pool has calibrated itself on the sizes it saw (it
// does every 42,000 bodies, and then drops buffers larger than most).
func TestCacheRangeHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	s := newRangeHitServer(t)
	if n := testing.AllocsPerRun(50000, s.serve); n != 0 {
		t.Fatalf("a range hit allocates %v times, want 0", n)
	}
}
