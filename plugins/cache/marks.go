package cache

import (
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/plugins/cache/clustersync"
)

// Marks are the purge records of the proxy cache, for purges that a
// generation in the key cannot express because they cut across keys:
// everything under a path prefix, everything of a route, everything
// carrying a tag. A mark says "entries of this scope and key, requested
// upstream before this time, are gone". A lookup checks the marks that
// concern the entry it found, and only when some mark is newer than the
// entry (after the last purge, new entries skip the check altogether).
//
// Marks are kept in memory, copy-on-write behind an atomic pointer, so a
// lookup takes no lock. Their number is bounded: past maxMarks, the oldest
// half is folded into a floor (everything stored before it is gone), which
// purges more than was asked, never less. The set lives in the shared
// store as its namespace's extension (marksOf), so that it lasts as long
// as the entries: across reloads, and across restarts with a [cache] file.
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
	scopeRoute  byte = 'r' // a route's name
	scopePrefix byte = 'p' // a path prefix ending in "/"
	scopeTag    byte = 't' // a tag (Surrogate-Key, Cache-Tag)
)

var emptyMarks = &Marks{}

// markSet is the current Marks of the proxy cache's namespace, and its
// store.Extension.
type markSet struct {
	mu  sync.Mutex // serializes writers
	cur atomic.Pointer[Marks]

	// The namespace's cluster sync (cluster.go), made by the first step
	// built with a Redis client, kept across reloads with the marks; and
	// the place in the purge stream a saved cache was loaded with, for
	// that sync to start from.
	clusterMu sync.Mutex
	cluster   *clustersync.Sync
	savedPos  clustersync.Position
}

var _ store.Extension = (*markSet)(nil)

// marksOf returns the purge marks kept with ns, loaded from a saved cache
// the first time.
func marksOf(ns *store.Namespace) *markSet { return ns.Extension(loadMarks).(*markSet) }

// savedMarks is the form of a markSet in a saved cache.
type savedMarks struct {
	Newest int64       `json:"newest,omitempty"`
	Floor  int64       `json:"floor,omitempty"`
	Marks  []savedMark `json:"marks,omitempty"`
	// Cluster is the place in the purge stream up to which the saved
	// entries heard the other nodes' purges (cluster.go).
	Cluster *clustersync.Position `json:"cluster,omitempty"`
}

type savedMark struct {
	Key   []byte `json:"key"` // scope byte + key
	Stamp int64  `json:"stamp"`
}

// loadMarks makes the markSet of a namespace from its saved state. A state
// it cannot read is dropped with everything it purged: the floor is then
// now, so that nothing stored before may come back.
func loadMarks(saved json.RawMessage) store.Extension {
	s := &markSet{}
	if len(saved) == 0 {
		return s
	}
	var sm savedMarks
	if err := json.Unmarshal(saved, &sm); err != nil {
		now := time.Now().UnixNano()
		s.cur.Store(&Marks{newest: now, floor: now})
		return s
	}
	m := &Marks{base: make(map[string]int64, len(sm.Marks)), newest: sm.Newest, floor: sm.Floor}
	for _, mk := range sm.Marks {
		m.base[string(mk.Key)] = mk.Stamp
	}
	s.cur.Store(m)
	if sm.Cluster != nil {
		s.savedPos = *sm.Cluster
	}
	return s
}

// Save implements store.Extension.
func (s *markSet) Save() (json.RawMessage, error) {
	m := s.load()
	pos := s.clusterPosition()
	if m.Len() == 0 && m.newest == 0 && m.floor == 0 && !pos.Known() {
		return nil, nil
	}
	sm := savedMarks{Newest: m.newest, Floor: m.floor}
	if pos.Known() {
		sm.Cluster = &pos
	}
	for _, mm := range []map[string]int64{m.base, m.delta} {
		for k, v := range mm {
			sm.Marks = append(sm.Marks, savedMark{Key: []byte(k), Stamp: v})
		}
	}
	return json.Marshal(sm)
}

// Len implements store.Extension: the number of marks.
func (s *markSet) Len() int { return s.load().Len() }

func (s *markSet) load() *Marks {
	if m := s.cur.Load(); m != nil {
		return m
	}
	return emptyMarks
}

// mark records that every entry of scope and key stored from a response
// requested before now is purged.
func (s *markSet) mark(scope byte, key string) {
	s.markAt(scope, key, time.Now().UnixNano())
}

// markAt is mark with an explicit stamp (unix nanoseconds).
func (s *markSet) markAt(scope byte, key string, stamp int64) {
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

// dropBefore purges every entry stored from a response requested before
// stamp, whatever its scope: it raises the floor. Unlike a purge of the
// namespace's generation, it also drops a response on its way from the
// upstream when it is called.
func (s *markSet) dropBefore(stamp int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.load()
	next := *old
	next.floor = max(next.floor, stamp)
	next.newest = max(next.newest, stamp)
	s.cur.Store(&next)
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

// after returns the marks when one of them may concern an entry stored at
// stamp, and nil otherwise (the common case, which costs an atomic load).
func (s *markSet) after(stamp int64) *Marks {
	m := s.load()
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
		k = append(append(buf[:0], scopePrefix), path...)
	} else {
		k = append([]byte{scopePrefix}, path...)
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
