package store

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Marks are the purge records of a namespace, for purges that a generation
// in the key cannot express because they cut across keys: everything under
// a path prefix, everything of a route, everything carrying a tag. A mark
// says "entries of this scope and key, requested upstream before this time,
// are gone". A lookup checks the marks that concern the entry it found,
// and only when some mark is newer than the entry (after the last purge,
// new entries skip the check altogether).
//
// Marks are kept in memory, copy-on-write behind an atomic pointer, so a
// lookup takes no lock. Their number is bounded: past maxMarks, the oldest
// half is folded into a floor (everything stored before it is gone), which
// purges more than was asked, never less.
type Marks struct {
	// Marks live in a large map rebuilt every deltaMax marks and a small
	// one copied on each mark, so that recording n marks costs O(n) in
	// all, not O(n²). Keys are scope byte + key, values stamps (unix ns).
	base   map[string]int64
	delta  map[string]int64
	newest int64
	floor  int64
}

// deltaMax bounds the small map of recent marks.
const deltaMax = 256

func (m *Marks) get(k string) (int64, bool) {
	if s, ok := m.delta[k]; ok {
		return s, true
	}
	s, ok := m.base[k]
	return s, ok
}

// maxMarks bounds the marks kept per namespace (give or take deltaMax).
var maxMarks = 1 << 16

// The scopes of marks.
const (
	ScopeRoute  byte = 'r' // a route's name
	ScopePrefix byte = 'p' // a path prefix ending in "/"
	ScopeTag    byte = 't' // a tag (Surrogate-Key, Cache-Tag)
)

var emptyMarks = &Marks{}

type markSet struct {
	mu  sync.Mutex // serializes writers
	cur atomic.Pointer[Marks]
}

func (s *markSet) load() *Marks {
	if m := s.cur.Load(); m != nil {
		return m
	}
	return emptyMarks
}

// Mark records that every entry of scope and key stored from a response
// requested before now is purged.
func (ns *Namespace) Mark(scope byte, key string) {
	ns.MarkAt(scope, key, time.Now().UnixNano())
}

// MarkAt is Mark with an explicit stamp (unix nanoseconds).
func (ns *Namespace) MarkAt(scope byte, key string, stamp int64) {
	s := &ns.marks
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.load()
	next := &Marks{base: old.base, delta: make(map[string]int64, len(old.delta)+1), newest: old.newest, floor: old.floor}
	for k, v := range old.delta {
		next.delta[k] = v
	}
	k := string(scope) + key
	if prev, _ := next.get(k); stamp > prev {
		next.delta[k] = stamp
	}
	next.newest = max(next.newest, stamp)
	if len(next.delta) > deltaMax {
		merged := make(map[string]int64, len(next.base)+len(next.delta))
		for k, v := range next.base {
			merged[k] = v
		}
		for k, v := range next.delta {
			merged[k] = v
		}
		next.base, next.delta = merged, nil
		if len(merged) > maxMarks {
			next.fold()
		}
	}
	s.cur.Store(next)
}

// fold drops the oldest half of the marks and raises the floor to the
// newest dropped one.
func (m *Marks) fold() {
	stamps := make([]int64, 0, len(m.base))
	for _, v := range m.base {
		stamps = append(stamps, v)
	}
	sort.Slice(stamps, func(i, j int) bool { return stamps[i] < stamps[j] })
	cut := stamps[len(stamps)/2]
	for k, v := range m.base {
		if v <= cut {
			delete(m.base, k)
		}
	}
	m.floor = max(m.floor, cut)
}

// MarksAfter returns the namespace's marks when one of them may concern an
// entry stored at stamp, and nil otherwise (the common case, which costs an
// atomic load).
func (ns *Namespace) MarksAfter(stamp int64) *Marks {
	m := ns.marks.load()
	if stamp > m.newest && stamp >= m.floor {
		return nil
	}
	return m
}

// Purged reports whether an entry of scope and key stored at stamp is
// purged by a mark. It does not allocate.
func (m *Marks) Purged(scope byte, key []byte, stamp int64) bool {
	if stamp < m.floor {
		return true
	}
	if m.Len() == 0 {
		return false
	}
	var buf [256]byte
	var k []byte
	if len(key)+1 <= len(buf) {
		k = append(append(buf[:0], scope), key...)
	} else {
		k = append([]byte{scope}, key...)
	}
	s, ok := m.get(string(k))
	return ok && stamp <= s
}

// PurgedPath reports whether a mark on a prefix of path (at a "/"
// boundary, the path itself included as path+"/") purges an entry stored
// at stamp.
func (m *Marks) PurgedPath(path []byte, stamp int64) bool {
	if stamp < m.floor {
		return true
	}
	if m.Len() == 0 {
		return false
	}
	var buf [512]byte
	var k []byte
	if len(path)+2 <= len(buf) {
		k = append(append(buf[:0], ScopePrefix), path...)
	} else {
		k = append([]byte{ScopePrefix}, path...)
	}
	k = append(k, '/')
	for i := 1; i < len(k); i++ {
		if k[i] != '/' {
			continue
		}
		if s, ok := m.get(string(k[:i+1])); ok && stamp <= s {
			return true
		}
	}
	return false
}

// Len returns the number of marks.
func (m *Marks) Len() int { return len(m.base) + len(m.delta) }

// MarkCount returns the number of purge marks the namespace holds.
func (ns *Namespace) MarkCount() int { return ns.marks.load().Len() }
