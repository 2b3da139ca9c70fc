package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// LocalOptions bound and tune a Local limiter. The zero value is usable.
type LocalOptions struct {
	// MaxKeys bounds how many keys the limiter remembers (default 100000).
	MaxKeys int
	// MaxBytes bounds the memory of the key table, keys and state included
	// (an estimate within a few tens of bytes per key; default 32 MiB).
	MaxBytes int64
	// Shards is the number of independently locked parts of the table, a
	// power of two (default: 4 per CPU, between 8 and 256). Each shard gets
	// an equal share of MaxKeys and MaxBytes.
	Shards int
	// Now returns a monotonic time in nanoseconds. nil means the process's
	// monotonic clock. Tests inject their own; it must never go backwards.
	Now func() int64
}

const (
	defaultMaxKeys  = 100000
	defaultMaxBytes = 32 << 20
	// sweep is how many entries an insertion into a full shard examines,
	// from the shard's clock hand, looking for one it may evict.
	sweep = 8
	// mapSlotBytes estimates what one entry costs in the shard's index map
	// (slot, control byte, spare capacity of a Swiss table).
	mapSlotBytes = 40
)

// Local is the limiter of policy "local": exact on one node. Keys live in a
// table split into shards, each behind its own mutex, so decisions for
// different keys rarely contend and decisions for one key are serialized:
// no update is lost, 1000 concurrent requests against a limit of 100 let
// exactly 100 through.
//
// Memory is bounded by MaxKeys and MaxBytes. A key is evicted only when its
// state is equivalent to a fresh key's (every window empty, or the GCRA
// bucket full), so eviction never gives a key back quota early. When a
// shard is full of live keys, a new key is not admitted to the table:
// its requests are decided by the shard's overflow state, one state shared
// by every such key of the shard (a conservative, shared limit), and when
// the key later enters the table it starts from a copy of that shared
// state, never from zero. See the package documentation.
//
// A Local is safe for concurrent use.
type Local struct {
	c      *compiled
	seed   maphash.Seed
	now    func() int64
	mask   uint64
	shards []shard
	// entryBytes is the accounted size of one entry without its key.
	entryBytes int64
	nt, nc     int // state words per key: int64 times, uint32 counters
}

type shard struct {
	mu       sync.Mutex
	index    map[uint64]int32 // key hash -> first entry with that hash
	entries  []entry
	times    []int64  // nt per entry
	counts   []uint32 // nc per entry
	ovTimes  []int64  // the overflow state
	ovCounts []uint32
	ovFresh  int64
	hand     int
	bytes    int64
	maxKeys  int
	maxBytes int64

	evictions, overflowed uint64

	_ [64]byte // keep shards on separate cache lines
}

type entry struct {
	key     []byte
	hash    uint64
	freshAt int64 // from this time on, the state equals a fresh key's
	next    int32 // next entry with the same hash, -1 for none
}

var monoOrigin = time.Now()

// monotonic is the default clock: nanoseconds on the monotonic clock,
// starting at one hour so that no state ever sees time 0 or before.
func monotonic() int64 { return int64(time.Since(monoOrigin)) + int64(time.Hour) }

// NewLocal returns a Local limiter for l.
func NewLocal(l Limit, o LocalOptions) (*Local, error) {
	c, err := compile(l, time.Nanosecond, 1)
	if err != nil {
		return nil, err
	}
	return newLocal(c, o)
}

func newLocal(c *compiled, o LocalOptions) (*Local, error) {
	if o.MaxKeys < 0 || o.MaxBytes < 0 || o.Shards < 0 {
		return nil, errors.New("max_keys, max_bytes and shards must not be negative")
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = defaultMaxKeys
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = defaultMaxBytes
	}
	if o.Shards == 0 {
		o.Shards = min(256, max(8, 4*runtime.GOMAXPROCS(0)))
		o.Shards = 1 << (bits.Len(uint(o.Shards-1)) % 64)
	}
	if o.Shards&(o.Shards-1) != 0 {
		return nil, fmt.Errorf("shards must be a power of two, got %d", o.Shards)
	}
	if o.Now == nil {
		o.Now = monotonic
	}
	lc := &Local{c: c, seed: maphash.MakeSeed(), now: o.Now, mask: uint64(o.Shards - 1)}
	lc.nt = len(c.win)
	if c.alg == SlidingWindow {
		lc.nc = len(c.win) * c.ring
	}
	lc.entryBytes = int64(unsafe.Sizeof(entry{})) + int64(lc.nt)*8 + int64(lc.nc)*4 + mapSlotBytes
	lc.shards = make([]shard, o.Shards)
	perKeys := (o.MaxKeys + o.Shards - 1) / o.Shards
	perBytes := (o.MaxBytes + int64(o.Shards) - 1) / int64(o.Shards)
	for i := range lc.shards {
		s := &lc.shards[i]
		s.index = make(map[uint64]int32, min(perKeys, 64))
		s.ovTimes = make([]int64, lc.nt)
		s.ovCounts = make([]uint32, lc.nc)
		s.ovFresh = -1 << 62
		s.maxKeys = perKeys
		s.maxBytes = perBytes
	}
	return lc, nil
}

// Allow decides one request of key. It never fails; ctx is not used.
func (lc *Local) Allow(ctx context.Context, key []byte, res *Result) {
	lc.AllowN(ctx, key, 1, res)
}

// AllowN decides a request of key that costs n units (n < 1 counts as 1).
func (lc *Local) AllowN(_ context.Context, key []byte, n int64, res *Result) {
	lc.allowAt(lc.now(), key, n, res)
}

func (lc *Local) allowAt(now int64, key []byte, n int64, res *Result) {
	n = max(1, n)
	h := maphash.Bytes(lc.seed, key)
	s := &lc.shards[h&lc.mask]
	s.mu.Lock()
	i := s.find(h, key)
	if i < 0 {
		i = lc.insert(s, h, key, now)
	}
	if i < 0 {
		s.overflowed++
		_, s.ovFresh = lc.c.decide(s.ovTimes, s.ovCounts, now, n, time.Nanosecond, res)
	} else {
		e := &s.entries[i]
		_, e.freshAt = lc.c.decide(s.times[i*lc.nt:(i+1)*lc.nt], s.counts[i*lc.nc:(i+1)*lc.nc], now, n, time.Nanosecond, res)
	}
	s.mu.Unlock()
	res.Source = SourceLocal
	res.Err = nil
}

func (s *shard) find(h uint64, key []byte) int {
	i, ok := s.index[h]
	if !ok {
		return -1
	}
	for i >= 0 {
		e := &s.entries[i]
		if string(e.key) == string(key) {
			return int(i)
		}
		i = e.next
	}
	return -1
}

// keyCap is the capacity given to a stored key: rounded up so that a slot
// reused for another key of similar length needs no new buffer.
func keyCap(n int) int { return (n + 15) &^ 15 }

// insert finds room for key in s, and returns its entry index with its
// state initialised, or -1 if the shard has no room: every entry is live
// (or the bytes would not fit) and nothing may be evicted.
func (lc *Local) insert(s *shard, h uint64, key []byte, now int64) int {
	kc := int64(keyCap(len(key)))
	i := -1
	if len(s.entries) < s.maxKeys && s.bytes+lc.entryBytes+kc <= s.maxBytes {
		i = len(s.entries)
		s.entries = append(s.entries, entry{})
		for range lc.nt {
			s.times = append(s.times, 0)
		}
		for range lc.nc {
			s.counts = append(s.counts, 0)
		}
		s.bytes += lc.entryBytes
	} else {
		for range min(sweep, len(s.entries)) {
			j := s.hand
			if s.hand++; s.hand == len(s.entries) {
				s.hand = 0
			}
			e := &s.entries[j]
			if e.freshAt > now {
				continue // live: evicting it would reset it early
			}
			if grow := kc - int64(cap(e.key)); grow > 0 && s.bytes+grow > s.maxBytes {
				continue
			}
			s.unlink(j)
			s.evictions++
			i = j
			break
		}
		if i < 0 {
			return -1
		}
	}
	e := &s.entries[i]
	if cap(e.key) < len(key) {
		s.bytes += kc - int64(cap(e.key))
		e.key = make([]byte, 0, kc)
	}
	e.key = append(e.key[:0], key...)
	e.hash = h
	e.next = -1
	if head, ok := s.index[h]; ok {
		e.next = head
	}
	s.index[h] = int32(i)
	// The key may have been counted in the overflow state a moment ago (it
	// is not in the table, so it was either never seen or evicted fresh).
	// Starting from the shared state is conservative; starting from zero
	// could reset it.
	t := s.times[i*lc.nt : (i+1)*lc.nt]
	c := s.counts[i*lc.nc : (i+1)*lc.nc]
	if s.ovFresh > now {
		copy(t, s.ovTimes)
		copy(c, s.ovCounts)
		e.freshAt = s.ovFresh
	} else {
		clear(t)
		clear(c)
		e.freshAt = 0
	}
	return i
}

// unlink removes entry j from the index.
func (s *shard) unlink(j int) {
	e := &s.entries[j]
	head := s.index[e.hash]
	if int(head) == j {
		if e.next >= 0 {
			s.index[e.hash] = e.next
		} else {
			delete(s.index, e.hash)
		}
		return
	}
	for p := head; p >= 0; p = s.entries[p].next {
		if int(s.entries[p].next) == j {
			s.entries[p].next = e.next
			return
		}
	}
}

// LocalStats is a snapshot of a Local limiter's table.
type LocalStats struct {
	Keys       int    // keys in the table
	Bytes      int64  // accounted bytes of the table
	Evictions  uint64 // keys evicted (each had a fresh state) to make room
	Overflowed uint64 // decisions taken by a shard's shared overflow state
}

// Stats returns the current counters, summed over the shards.
func (lc *Local) Stats() LocalStats {
	var st LocalStats
	for i := range lc.shards {
		s := &lc.shards[i]
		s.mu.Lock()
		st.Keys += len(s.entries) // entries are reused, never removed
		st.Bytes += s.bytes
		st.Evictions += s.evictions
		st.Overflowed += s.overflowed
		s.mu.Unlock()
	}
	return st
}
