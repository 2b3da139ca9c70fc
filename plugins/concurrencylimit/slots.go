package concurrencylimit

import (
	"hash/maphash"
	"runtime"
	"sync"
	"time"
)

// slots counts the requests in flight per key, each key with at most max
// at once and a FIFO queue of at most queue waiting for one. The table is
// split into shards, each behind its own mutex: no global lock, and the
// decisions of one key are serialized, so none is lost. A key with
// nothing in flight leaves the table once its shard holds more than its
// share of keys; until then it stays, so that a busy key allocates
// nothing.
type slots struct {
	max, queue int
	perShard   int // idle keys a shard keeps
	seed       maphash.Seed
	shards     []shard
}

type shard struct {
	mu sync.Mutex
	m  map[string]*entry
	_  [40]byte // keep neighbouring shards' mutexes off one cache line
}

// entry is one key's slots. Its Close releases one slot: the request
// context holds it (fasthttp closes it when the response has been
// written, streamed bodies included).
type entry struct {
	s        *slots
	sh       *shard
	key      string
	inflight int
	waiters  []*waiter // FIFO
}

// waiter is a request waiting in a key's queue; a slot is handed to it by
// a send on ch.
type waiter struct{ ch chan struct{} }

var (
	waiters = sync.Pool{New: func() any { return &waiter{ch: make(chan struct{}, 1)} }}
	timers  = sync.Pool{New: func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}}
)

func newSlots(limit, queue, maxKeys int) *slots {
	n := 8
	for n < 4*runtime.GOMAXPROCS(0) && n < 256 {
		n *= 2
	}
	s := &slots{max: limit, queue: queue, perShard: max(1, maxKeys/n), seed: maphash.MakeSeed(), shards: make([]shard, n)}
	for i := range s.shards {
		s.shards[i].m = map[string]*entry{}
	}
	return s
}

// outcome is how an acquisition went.
type outcome uint8

const (
	acquired outcome = iota // at once
	dequeued                // after waiting in the queue
	full                    // no slot and no room in the queue
	timedOut                // waited in the queue for wait, in vain
)

// acquire takes a slot of key (copied when the key is new), waiting up
// to wait in the key's queue when every slot is taken. On acquired and
// dequeued, the caller owns a slot of e, to give back with e.Close.
func (s *slots) acquire(key []byte, wait time.Duration) (e *entry, o outcome) {
	sh := &s.shards[maphash.Bytes(s.seed, key)&uint64(len(s.shards)-1)]
	sh.mu.Lock()
	e = sh.m[string(key)]
	if e == nil {
		e = &entry{s: s, sh: sh, key: string(key)}
		sh.m[e.key] = e
	}
	if e.inflight < s.max {
		e.inflight++
		sh.mu.Unlock()
		return e, acquired
	}
	if len(e.waiters) >= s.queue || wait <= 0 {
		sh.mu.Unlock()
		return nil, full
	}
	w := waiters.Get().(*waiter)
	e.waiters = append(e.waiters, w)
	sh.mu.Unlock()

	t := timers.Get().(*time.Timer)
	t.Reset(wait)
	defer timers.Put(t)
	select {
	case <-w.ch:
		t.Stop()
		waiters.Put(w)
		return e, dequeued
	case <-t.C:
	}
	sh.mu.Lock()
	for i, x := range e.waiters {
		if x == w {
			e.waiters = append(e.waiters[:i], e.waiters[i+1:]...)
			sh.mu.Unlock()
			waiters.Put(w)
			return nil, timedOut
		}
	}
	sh.mu.Unlock()
	// A slot was handed over as the wait ended: it is ours.
	<-w.ch
	waiters.Put(w)
	return e, dequeued
}

// Close gives back one slot of e: to the first request waiting in its
// queue, if any. It implements io.Closer, for fasthttp's user values.
func (e *entry) Close() error {
	sh := e.sh
	sh.mu.Lock()
	if len(e.waiters) > 0 {
		w := e.waiters[0]
		copy(e.waiters, e.waiters[1:])
		e.waiters[len(e.waiters)-1] = nil
		e.waiters = e.waiters[:len(e.waiters)-1]
		sh.mu.Unlock()
		w.ch <- struct{}{} // buffered: never blocks
		return nil
	}
	e.inflight--
	if e.inflight == 0 && len(sh.m) > e.s.perShard {
		delete(sh.m, e.key)
	}
	sh.mu.Unlock()
	return nil
}

// counts returns the requests in flight and waiting, summed over the keys,
// and the number of keys in the table.
func (s *slots) counts() (inflight, waiting, keys int) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		keys += len(sh.m)
		for _, e := range sh.m {
			inflight += e.inflight
			waiting += len(e.waiters)
		}
		sh.mu.Unlock()
	}
	return inflight, waiting, keys
}
