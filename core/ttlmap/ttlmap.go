package ttlmap

import (
	"hash/maphash"
	"sync"
	"time"
)

const shards = 16

// Map remembers at most about Max values by string key, each until its
// expiry. It is safe for concurrent use. The zero value is not usable;
// call New.
type Map[V any] struct {
	seed     maphash.Seed
	perShard int
	shards   [shards]shard[V]
}

type shard[V any] struct {
	mu sync.RWMutex
	m  map[string]entry[V]
}

type entry[V any] struct {
	v   V
	exp int64 // unix nanoseconds; 0 never
}

// New returns a Map holding at most max entries (at least one per shard).
func New[V any](max int) *Map[V] {
	m := &Map[V]{seed: maphash.MakeSeed(), perShard: max/shards + 1}
	for i := range m.shards {
		m.shards[i].m = make(map[string]entry[V])
	}
	return m
}

func (m *Map[V]) shard(key []byte) *shard[V] {
	return &m.shards[maphash.Bytes(m.seed, key)%shards]
}

// Get returns the value stored under key if it has not expired at now.
func (m *Map[V]) Get(key []byte, now time.Time) (V, bool) {
	s := m.shard(key)
	s.mu.RLock()
	e, ok := s.m[string(key)]
	s.mu.RUnlock()
	if !ok || e.exp != 0 && now.UnixNano() >= e.exp {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Set stores v under key (copied) until expires (the zero time: until
// evicted). When the key's shard is full, another entry is dropped,
// expired ones first.
func (m *Map[V]) Set(key []byte, v V, expires time.Time) {
	var exp int64
	if !expires.IsZero() {
		exp = expires.UnixNano()
	}
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[string(key)]; !ok && len(s.m) >= m.perShard {
		now := time.Now().UnixNano()
		dropped := false
		n := 0
		for k, e := range s.m {
			if e.exp != 0 && now >= e.exp {
				delete(s.m, k)
				dropped = true
			}
			if n++; n >= 8 {
				break
			}
		}
		if !dropped {
			for k := range s.m {
				delete(s.m, k)
				break
			}
		}
	}
	s.m[string(key)] = entry[V]{v: v, exp: exp}
}

// Delete removes key.
func (m *Map[V]) Delete(key []byte) {
	s := m.shard(key)
	s.mu.Lock()
	delete(s.m, string(key))
	s.mu.Unlock()
}

// Len returns the number of entries, expired ones included.
func (m *Map[V]) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
