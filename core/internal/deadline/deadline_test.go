package deadline

import (
	"testing"
	"time"
)

// TestLazyNeverEarlyAtMostSlackLate: for requests a little apart, each
// asking for now plus a timeout, the deadline the socket has is never
// earlier than asked and at most 1/32 of the timeout later, and the
// socket is updated once in many requests.
func TestLazyNeverEarlyAtMostSlackLate(t *testing.T) {
	for _, timeout := range []time.Duration{100 * time.Millisecond, 30 * time.Second, time.Hour} {
		var l Lazy
		var socket time.Time
		updates := 0
		start := time.Now()
		for i := range 10000 {
			now := start.Add(time.Duration(i) * 20 * time.Microsecond)
			want := now.Add(timeout)
			if d, ok := l.Next(want, timeout); ok {
				socket, updates = d, updates+1
			}
			if socket.Before(want) {
				t.Fatalf("timeout %v, request %d: the socket's deadline is %v before the one asked for",
					timeout, i, want.Sub(socket))
			}
			if late := socket.Sub(want); late > timeout/32+time.Millisecond || late > MaxSlack+time.Millisecond {
				t.Fatalf("timeout %v, request %d: the deadline is %v late", timeout, i, late)
			}
		}
		// 10 000 requests over 200 ms.
		if limit := int(200*time.Millisecond/(timeout/32)) + 2; updates > limit {
			t.Errorf("timeout %v: %d updates for 10 000 requests, want at most %d", timeout, updates, limit)
		}
	}
}

// TestLazyEarlierAndZero: a deadline earlier than the socket's (by more
// than the slack) is set; the zero time (no deadline) is set once;
// after Set or Forget, Next goes by what the socket really has.
func TestLazyEarlierAndZero(t *testing.T) {
	var l Lazy
	now := time.Now()
	if _, ok := l.Next(now.Add(time.Minute), time.Minute); !ok {
		t.Fatal("the first deadline was not set")
	}
	if d, ok := l.Next(now.Add(time.Second), time.Second); !ok || d.Before(now.Add(time.Second)) || d.After(now.Add(time.Second+time.Second/32+time.Millisecond)) {
		t.Fatalf("an earlier deadline: %v %v", d.Sub(now), ok)
	}
	if _, ok := l.Next(time.Time{}, 0); !ok {
		t.Fatal("no deadline was not set")
	}
	if _, ok := l.Next(time.Time{}, 0); ok {
		t.Fatal("no deadline was set twice")
	}
	l.Set(now.Add(time.Minute))
	if _, ok := l.Next(time.Time{}, 0); !ok {
		t.Fatal("after Set, no deadline was not set")
	}
	l.Forget()
	if _, ok := l.Next(time.Time{}, 0); !ok {
		t.Fatal("after Forget, no deadline was not set")
	}
}

// BenchmarkLazyUpdate is what a request pays for its deadline when the
// socket's already covers it: a comparison instead of a timer update.
func BenchmarkLazyUpdate(b *testing.B) {
	var l Lazy
	set := func(time.Time) error { return nil }
	t := time.Now().Add(30 * time.Second)
	b.ReportAllocs()
	for b.Loop() {
		l.Update(t, 30*time.Second, set) //nolint:errcheck // set never fails
	}
}
