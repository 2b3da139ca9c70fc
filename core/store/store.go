package store

import (
	"encoding/binary"
	"encoding/json"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/fastcache"
)

// MinSize is the smallest budget fastcache works with.
const MinSize = 32 << 20

// bigThreshold is the size from which values go through the Big API
// (fastcache stores at most 64 KB per Set, key and value together).
const bigThreshold = 64<<10 - 512

const (
	headerLen = 9 // flags (1) + expiry in unix nanoseconds (8)
	flagBig   = 1
)

// Store is the shared cache store. It is safe for concurrent use.
type Store struct {
	fc         *fastcache.Cache
	maxBytes   int
	mu         sync.Mutex
	namespaces map[string]*Namespace
	hits       atomic.Uint64
	misses     atomic.Uint64
	expired    atomic.Uint64
	sets       atomic.Uint64
	file       string // persistence file, "" for none
	loaded     bool
}

// New returns a cache that never holds more than maxBytes (at least MinSize).
func New(maxBytes int) *Store {
	maxBytes = max(maxBytes, MinSize)
	return &Store{fc: fastcache.New(maxBytes), maxBytes: maxBytes, namespaces: map[string]*Namespace{}}
}

// Namespace returns the namespace called name, creating it on first use.
// The same name always returns the same namespace, across reloads, so
// scripts and plugins rebuilt by a reload find their entries again.
// Namespace names are chosen by code: "proxy", "lua:scripts/x.lua", ...
func (c *Store) Namespace(name string) *Namespace {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ns, ok := c.namespaces[name]; ok {
		return ns
	}
	ns := &Namespace{c: c, name: name, prefix: append([]byte(name), 0), counters: map[string]*atomic.Uint64{}}
	c.namespaces[name] = ns
	return ns
}

// Stats is a snapshot of the cache's counters. Entries counts fastcache
// records (a large value takes several, a purged one stays until
// overwritten); Bytes is the memory fastcache holds, never more than
// MaxBytes.
type Stats struct {
	Entries     uint64 `json:"entries"`
	Bytes       uint64 `json:"bytes"`
	MaxBytes    uint64 `json:"max_bytes"`
	Hits        uint64 `json:"hits"`
	Misses      uint64 `json:"misses"`
	Expired     uint64 `json:"expired"`
	Sets        uint64 `json:"sets"`
	Collisions  uint64 `json:"collisions"`
	Corruptions uint64 `json:"corruptions"`
	// TooBigKeys counts keys fastcache refused (over 64 KB).
	TooBigKeys uint64 `json:"too_big_keys"`
	// InvalidBigValues counts large values lost in part (evicted chunks).
	InvalidBigValues uint64 `json:"invalid_big_values"`
	// File is the persistence file, "" when the cache lives in memory only.
	File string `json:"file,omitempty"`
	// Loaded tells whether the cache was loaded from File at start.
	Loaded bool `json:"loaded,omitempty"`
	// Namespaces describes each namespace in use, by name.
	Namespaces []NamespaceStats `json:"namespaces,omitempty"`
}

// NamespaceStats describes one namespace.
type NamespaceStats struct {
	Name string `json:"name"`
	// Generation is bumped by each purge of the whole namespace.
	Generation uint64 `json:"generation"`
	// Marks is the number of records the namespace's extension holds:
	// for the proxy cache, its purge marks (prefixes, routes, tags).
	Marks int `json:"marks"`
	// Counters are the namespace owner's own counters (hits, misses, ...).
	Counters map[string]uint64 `json:"counters,omitempty"`
}

// Stats returns the current counters.
func (c *Store) Stats() Stats {
	var s fastcache.Stats
	c.fc.UpdateStats(&s)
	st := Stats{
		Entries: s.EntriesCount, Bytes: s.BytesSize, MaxBytes: uint64(c.maxBytes),
		Hits: c.hits.Load(), Misses: c.misses.Load(), Expired: c.expired.Load(), Sets: c.sets.Load(),
		Collisions: s.Collisions, Corruptions: s.Corruptions, TooBigKeys: s.TooBigKeyErrors,
		InvalidBigValues: s.InvalidMetavalueErrors + s.InvalidValueLenErrors + s.InvalidValueHashErrors,
		File:             c.file, Loaded: c.loaded,
	}
	c.mu.Lock()
	names := make([]string, 0, len(c.namespaces))
	for n := range c.namespaces {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ns := c.namespaces[n]
		nst := NamespaceStats{Name: n, Generation: ns.gen.Load(), Marks: ns.extensionLen()}
		ns.countersMu.Lock()
		if len(ns.counters) > 0 {
			nst.Counters = make(map[string]uint64, len(ns.counters))
			for k, v := range ns.counters {
				nst.Counters[k] = v.Load()
			}
		}
		ns.countersMu.Unlock()
		st.Namespaces = append(st.Namespaces, nst)
	}
	c.mu.Unlock()
	return st
}

// Namespace is a part of the cache with its own keys. It is safe for
// concurrent use.
type Namespace struct {
	c      *Store
	name   string
	prefix []byte
	gen    atomic.Uint64

	extMu sync.Mutex
	ext   Extension       // see Extension
	saved json.RawMessage // the extension's state loaded by Open, until an owner takes it

	countersMu sync.Mutex
	counters   map[string]*atomic.Uint64
}

// Counter returns the namespace's counter called name, created on first
// use; it is reported in Stats. Take counters once, at provision time,
// and add to them per request.
func (ns *Namespace) Counter(name string) *atomic.Uint64 {
	ns.countersMu.Lock()
	defer ns.countersMu.Unlock()
	if x, ok := ns.counters[name]; ok {
		return x
	}
	x := new(atomic.Uint64)
	ns.counters[name] = x
	return x
}

// valuePool holds the buffers Set builds a value in (header + value).
var valuePool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// appendKey builds the fastcache key: namespace, generation, key, kind.
func (ns *Namespace) appendKey(dst, key []byte, kind byte) []byte {
	dst = append(dst, ns.prefix...)
	dst = binary.BigEndian.AppendUint64(dst, ns.gen.Load())
	dst = append(dst, key...)
	return append(dst, kind)
}

// Get appends the value stored under key to dst and returns it, with
// ok = false when there is none or it has expired. With a dst of enough
// capacity, a hit allocates nothing.
func (ns *Namespace) Get(dst, key []byte) (value []byte, ok bool) {
	return ns.get(dst, key, false)
}

// GetExpired is Get that also returns a value past its expiry that
// fastcache still holds (until it is overwritten), for owners that keep
// their own notion of staleness, such as an HTTP cache reporting an
// expired entry or serving it stale.
func (ns *Namespace) GetExpired(dst, key []byte) (value []byte, ok bool) {
	return ns.get(dst, key, true)
}

// ReadExpired is GetExpired without moving the value into place: it
// appends to dst what the store holds under key and returns the grown
// buffer, buf, and the value, a part of buf that starts after dst's
// length (a small value is preceded in buf by the store's own header).
// Owners that read the value in place and keep buf for the next call
// save the copy of the whole value that GetExpired makes to drop the
// header. With a buf of enough capacity, a hit allocates nothing. On a
// miss, buf is dst and value is nil.
func (ns *Namespace) ReadExpired(dst, key []byte) (buf, value []byte, ok bool) {
	buf, start, ok := ns.read(dst, key, true)
	if !ok {
		return buf, nil, false
	}
	return buf, buf[start:], true
}

func (ns *Namespace) get(dst, key []byte, expired bool) ([]byte, bool) {
	start := len(dst)
	dst, at, ok := ns.read(dst, key, expired)
	if ok && at > start {
		dst = append(dst[:start], dst[at:]...)
	}
	return dst, ok
}

// read appends what fastcache holds under key to dst; the value is
// dst[at:] in what it returns: after the store's header for a small
// value, at the original length of dst for a large one (stored apart
// from its header). On a miss it returns dst as it was given.
func (ns *Namespace) read(dst, key []byte, expired bool) (buf []byte, at int, ok bool) {
	var kb [256]byte // fastcache does not keep keys: they stay on the stack
	k := ns.appendKey(kb[:0], key, 's')
	start := len(dst)
	dst, found := ns.c.fc.HasGet(dst, k)
	if !found || len(dst)-start < headerLen {
		ns.c.misses.Add(1)
		return dst[:start], start, false
	}
	flags := dst[start]
	exp := int64(binary.BigEndian.Uint64(dst[start+1:]))
	if exp != 0 && !expired && time.Now().UnixNano() >= exp {
		ns.c.expired.Add(1)
		ns.c.misses.Add(1)
		return dst[:start], start, false
	}
	at = start + headerLen
	if flags&flagBig != 0 {
		k[len(k)-1] = 'b'
		if dst = ns.c.fc.GetBig(dst[:start], k); len(dst) == start {
			ns.c.misses.Add(1)
			return dst, start, false
		}
		at = start
	}
	ns.c.hits.Add(1)
	return dst, at, true
}

// Set stores value under key for ttl (0: until evicted or purged).
// Values over 64 KB are stored through fastcache's Big API. The oldest
// entries are evicted when the cache is full.
func (ns *Namespace) Set(key, value []byte, ttl time.Duration) {
	var exp int64
	if ttl > 0 {
		exp = time.Now().Add(ttl).UnixNano()
	}
	var kb [256]byte
	k := ns.appendKey(kb[:0], key, 's')
	var hdr [headerLen]byte
	binary.BigEndian.PutUint64(hdr[1:], uint64(exp))
	if len(value)+len(k)+headerLen > bigThreshold {
		hdr[0] = flagBig
		k[len(k)-1] = 'b'
		ns.c.fc.SetBig(k, value)
		k[len(k)-1] = 's'
		ns.c.fc.Set(k, hdr[:])
	} else {
		vp := valuePool.Get().(*[]byte)
		v := append(append((*vp)[:0], hdr[:]...), value...)
		ns.c.fc.Set(k, v)
		*vp = v
		valuePool.Put(vp)
	}
	ns.c.sets.Add(1)
}

// Delete removes key.
func (ns *Namespace) Delete(key []byte) {
	var kb [256]byte
	k := ns.appendKey(kb[:0], key, 's')
	ns.c.fc.Del(k)
	k[len(k)-1] = 'b'
	ns.c.fc.Del(k)
}

// Purge makes every entry of the namespace invisible, in O(1).
func (ns *Namespace) Purge() { ns.gen.Add(1) }

// Generation returns the namespace's generation (bumped by Purge).
func (ns *Namespace) Generation() uint64 { return ns.gen.Load() }
