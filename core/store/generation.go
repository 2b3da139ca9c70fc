package store

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/cespare/xxhash/v2"
)

// Key generations: a generation number per key (such as a URL path), kept
// in the cache itself, that the owner puts into the keys of the entries
// derived from it. Renewing the generation makes all of them unreachable
// at once: every variant of a URL, whatever its query, headers or
// consumer. Generations are random, so a renewed one is never an old one
// again; if the generation record is evicted, its entries become
// unreachable with it (a miss, never a stale answer).
//
// The key is hashed (64 bits) before it is stored: two keys that collide
// share a generation, so renewing one also drops the other's entries,
// which is harmless.

// KeyGeneration returns the generation of key, 0 when it has none.
func (ns *Namespace) KeyGeneration(key []byte) uint64 {
	var kb, vb [128]byte
	k := ns.appendGenKey(kb[:0], key)
	v, ok := ns.c.fc.HasGet(vb[:0], k)
	if !ok || len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// RenewKeyGeneration gives key a new generation and returns it.
func (ns *Namespace) RenewKeyGeneration(key []byte) uint64 {
	g := rand.Uint64() | 1
	ns.SetKeyGeneration(key, g)
	return g
}

// SetKeyGeneration (re)stores g as key's generation; storing it again keeps
// the record from ageing out before the entries that use it.
func (ns *Namespace) SetKeyGeneration(key []byte, g uint64) {
	var kb [128]byte
	var vb [8]byte
	binary.BigEndian.PutUint64(vb[:], g)
	ns.c.fc.Set(ns.appendGenKey(kb[:0], key), vb[:])
}

func (ns *Namespace) appendGenKey(dst, key []byte) []byte {
	dst = append(dst, ns.prefix...)
	dst = binary.BigEndian.AppendUint64(dst, ns.gen.Load())
	dst = binary.BigEndian.AppendUint64(dst, xxhash.Sum64(key))
	return append(dst, 'g')
}
