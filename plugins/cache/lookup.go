package cache

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/moongate/moongate/core/plugin"
)

// lookup finds the entry for the request; st.found and st.entry tell
// what it found (fresh or not).
func (p *Plugin) lookup(c *plugin.Context, st *state) bool {
	st.found = false
	st.gen = p.ns.KeyGeneration(st.path)
	if st.gen == 0 {
		return false
	}
	st.key = baseKey(st.digest, st.gen)
	var ok bool
	st.val, st.record, ok = p.ns.ReadExpired(st.val[:0], st.key[:])
	if !ok || len(st.record) == 0 {
		return false
	}
	if st.record[0] == kindTooBig {
		st.tooBig = true
		return false
	}
	if st.record[0] == kindVary {
		st.key = p.variantKey(c, st, st.record[1:])
		st.val, st.record, ok = p.ns.ReadExpired(st.val[:0], st.key[:])
		if !ok {
			return false
		}
	}
	e, ok := parseEntry(st.record)
	if !ok {
		return false
	}
	if m := p.marks.after(e.stamp); m != nil && p.purged(m, c, st, &e) {
		return false
	}
	st.entry = e
	st.found = true
	return true
}

// purged checks the purge marks by route, path prefix and tag.
func (p *Plugin) purged(m *Marks, c *plugin.Context, st *state, e *entry) bool {
	var buf [128]byte
	if r := c.RouteName(); r != "" && m.Purged(scopeRoute, append(buf[:0], r...), e.stamp) {
		return true
	}
	if m.PurgedPath(st.path, e.stamp) {
		return true
	}
	r := reader{b: e.tags}
	for i := 0; i < e.nt; i++ {
		t, ok := r.next()
		if !ok {
			break
		}
		if m.Purged(scopeTag, t, e.stamp) {
			return true
		}
	}
	return false
}

// tryServe answers from the entry found when it may be used as is: fresh,
// or stale within what the client or stale-while-revalidate accepts.
func (p *Plugin) tryServe(c *plugin.Context, st *state, now int64) bool {
	e := &st.entry
	age := e.age(now)
	rd := &st.req
	fresh := age < e.lifetime && e.flags&flagNoCache == 0 && !rd.noCache
	if fresh && rd.maxAge >= 0 && age > rd.maxAge {
		fresh = false
	}
	if fresh && rd.minFresh >= 0 && e.lifetime-age < rd.minFresh {
		fresh = false
	}
	if fresh {
		p.serve(c, st, e, &st.val, now, statusHit)
		p.n.hit.Add(1)
		p.m.hit.Inc(c)
		c.Stop()
		return true
	}
	if e.flags&(flagNoStale|flagNoCache) != 0 || rd.noCache || (rd.maxAge >= 0 && age > rd.maxAge && !rd.anyMaxStale && rd.maxStale < 0) {
		return false
	}
	staleBy := age - e.lifetime
	clientOK := rd.anyMaxStale || (rd.maxStale >= 0 && staleBy <= rd.maxStale)
	swrOK := staleBy < e.swr
	if !clientOK && !swrOK {
		return false
	}
	if swrOK {
		p.startRefresh(c, st, now)
	}
	p.serve(c, st, e, &st.val, now, statusStale)
	p.n.stale.Add(1)
	p.m.stale.Inc(c)
	c.Stop()
	return true
}

// baseKey is the key of a request's primary record: its digest and the
// generation of its path.
func baseKey(d [16]byte, gen uint64) (k [24]byte) {
	copy(k[:], d[:])
	binary.BigEndian.PutUint64(k[16:], gen)
	return k
}

// variantKey is the key of the variant of a response that varies on the
// headers named in a vary record: their values, normalized (see vary.go).
func (p *Plugin) variantKey(c *plugin.Context, st *state, names []byte) [24]byte {
	b := append(st.keybuf[:0], st.digest[:]...)
	b = binary.BigEndian.AppendUint64(b, st.gen)
	r := reader{b: names}
	for {
		n, ok := r.next()
		if !ok {
			break
		}
		b = appendString(b, n)
		b = appendVaryValue(b, &st.vary, n, c.Request.Header.PeekAll(string(n)))
	}
	sum := sha256.Sum256(b)
	st.keybuf = b
	var d [16]byte
	copy(d[:], sum[:16])
	return baseKey(d, st.gen)
}
