package ttlmap

import (
	"strconv"
	"testing"
	"time"
)

func TestGetSetExpiry(t *testing.T) {
	m := New[int](100)
	now := time.Now()
	m.Set([]byte("a"), 1, now.Add(time.Minute))
	m.Set([]byte("b"), 2, time.Time{})
	if v, ok := m.Get([]byte("a"), now); !ok || v != 1 {
		t.Fatalf("got %v %v, want 1 true", v, ok)
	}
	if _, ok := m.Get([]byte("a"), now.Add(2*time.Minute)); ok {
		t.Fatal("expired entry returned")
	}
	if v, ok := m.Get([]byte("b"), now.Add(1000*time.Hour)); !ok || v != 2 {
		t.Fatalf("got %v %v, want 2 true", v, ok)
	}
	m.Delete([]byte("b"))
	if _, ok := m.Get([]byte("b"), now); ok {
		t.Fatal("deleted entry returned")
	}
}

func TestBounded(t *testing.T) {
	m := New[int](64)
	for i := 0; i < 10000; i++ {
		m.Set([]byte(strconv.Itoa(i)), i, time.Time{})
	}
	if n := m.Len(); n > 64+shards {
		t.Fatalf("len %d, want at most %d", n, 64+shards)
	}
	// The last key set is always there.
	if v, ok := m.Get([]byte("9999"), time.Now()); !ok || v != 9999 {
		t.Fatalf("got %v %v, want 9999 true", v, ok)
	}
}
