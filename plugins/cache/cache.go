package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

func init() { plugin.Register("cache", New) }

// Plugin is an instance of the cache step. It keeps no per-request state:
// that lives in a pooled *state attached to the request's context.
type Plugin struct {
	ns    *store.Namespace
	marks *markSet // the purge marks kept with ns

	ttl, heuristicMax, swr, sie, keepStale, collapseTimeout int64
	force, heuristic, collapse, invalidate                  bool
	exposeTags, requestDirectives, ignoreQuery, keyConsumer bool
	keyHost                                                 bool
	getOK, headOK                                           bool
	otherMethods                                            []string
	statuses                                                [600]bool
	contentTypes                                            [][]byte
	maxSize                                                 int
	queryArgs                                               [][]byte
	keyHeaders, keyCookies, keyCtx                          []string
	tagHeader                                               string
	targeted, ownTargetedNames                              []string
	purgeOn                                                 bool
	purgeIPs                                                []netip.Prefix
	purgeConsumers                                          []string

	flights   flightGroup
	refreshes chan struct{} // bounds background refreshes
	wg        sync.WaitGroup

	n counters

	keyWarned atomic.Bool // warnKeyChanged logged
}

type counters struct {
	hit, miss, expired, stale, bypass, revalidated *atomic.Uint64
	stored, collapsed, refreshed, invalidated      *atomic.Uint64
}

var (
	_ plugin.RequestHandler  = (*Plugin)(nil)
	_ plugin.ResponseHandler = (*Plugin)(nil)
	_ plugin.Cleaner         = (*Plugin)(nil)
)

// maxRefreshes bounds the background refreshes (stale-while-revalidate)
// running at once per step; past it, a stale entry is served without
// starting another, and a later request refreshes it.
const maxRefreshes = 64

// New builds the step from its configuration.
func New(spec plugin.Spec) (any, error) {
	cfg := defaults()
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	ns := spec.Namespace(namespace)
	if ns == nil {
		return nil, spec.Config.Problem("", "the shared cache is not available")
	}
	p := &Plugin{ns: ns, marks: marksOf(ns), refreshes: make(chan struct{}, maxRefreshes)}
	if err := p.compile(spec, &cfg); err != nil {
		return nil, err
	}
	p.n = counters{
		hit: p.ns.Counter("hit"), miss: p.ns.Counter("miss"), expired: p.ns.Counter("expired"),
		stale: p.ns.Counter("stale"), bypass: p.ns.Counter("bypass"), revalidated: p.ns.Counter("revalidated"),
		stored: p.ns.Counter("stored"), collapsed: p.ns.Counter("collapsed"), refreshed: p.ns.Counter("refreshed"),
		invalidated: p.ns.Counter("invalidated"),
	}
	return p, nil
}

// Cleanup waits (a few seconds at most) for background refreshes.
func (p *Plugin) Cleanup() error {
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return nil
}

// The X-Cache-Status values.
var (
	hdrStatus         = []byte("X-Cache-Status")
	statusHit         = []byte("HIT")
	statusMiss        = []byte("MISS")
	statusExpired     = []byte("EXPIRED")
	statusStale       = []byte("STALE")
	statusBypass      = []byte("BYPASS")
	statusRevalidated = []byte("REVALIDATED")
	hdrAge            = []byte("Age")
)

const stateKey = "moongate.cache.state"

// What the request phase decided, for the response phase.
const (
	modeBypass     = iota + 1 // not cached: mark the response BYPASS
	modeFetch                 // going upstream for a cacheable request: store, revalidate, or serve stale on error
	modeInvalidate            // unsafe method: invalidate on success
)

// bypassState marks bypassed requests without taking a state from the pool.
var bypassState = &state{mode: modeBypass}

// OnRequest looks the request up and answers it from the cache when it can.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	method := c.Method()
	cacheable := p.cacheableMethod(method)
	if !cacheable {
		switch {
		case p.purgeOn && string(method) == "PURGE":
			return p.purgeRequest(c)
		case p.invalidate && unsafeMethod(method):
			st := acquireState()
			st.mode = modeInvalidate
			st.path = append(st.path[:0], c.Path()...)
			st.host = append(st.host[:0], c.Host()...)
			c.SetValue(stateKey, st)
		default:
			c.SetValue(stateKey, bypassState)
		}
		return nil
	}
	st := acquireState()
	if !p.scanRequest(c, st) || !p.digest(c, st) {
		releaseState(st)
		c.SetValue(stateKey, bypassState)
		return nil
	}
	// The request's start is recent enough for ages, and spares a clock read.
	now := c.Start().UnixNano()
	if p.lookup(c, st) && p.tryServe(c, st, now) {
		releaseState(st)
		return nil
	}
	if st.tooBig && len(st.reqRange) > 0 {
		// Too large to store, as a fetch found lately: the range is the
		// upstream's to answer, rather than sending the whole response.
		releaseState(st)
		c.SetValue(stateKey, bypassState)
		return nil
	}
	if p.collapse {
		f, leader := p.flights.join(st.digest, now, p.collapseTimeout)
		if leader {
			st.flight = f
		} else if f.wait(p.collapseTimeout) {
			// The leader is done: its response is in the cache, unless it
			// could not be stored.
			now = time.Now().UnixNano()
			if p.lookup(c, st) && p.tryServe(c, st, now) {
				p.n.collapsed.Add(1)
				releaseState(st)
				return nil
			}
		}
	}
	if st.req.onlyIfCached {
		p.flights.finish(st.digest, st.flight)
		releaseState(st)
		c.Error(504, "not in cache (only-if-cached)")
		return nil
	}
	p.prepareFetch(c, st, now)
	c.SetValue(stateKey, st)
	return nil
}

// OnResponse stores what can be stored and marks the response.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	v, _ := c.Value(stateKey).(*state)
	if v == nil {
		return nil
	}
	c.SetValue(stateKey, nil)
	switch v.mode {
	case modeBypass:
		p.n.bypass.Add(1)
		p.stripOwn(c.Response)
		c.Response.Header.SetBytesKV(hdrStatus, statusBypass)
		return nil
	case modeInvalidate:
		p.invalidateAfter(c, v)
		p.stripOwn(c.Response)
		releaseState(v)
		return nil
	}
	p.finish(c, v, true)
	releaseState(v)
	return nil
}

func (p *Plugin) cacheableMethod(m []byte) bool {
	switch string(m) {
	case "GET":
		return p.getOK
	case "HEAD":
		return p.headOK
	}
	for _, o := range p.otherMethods {
		if string(m) == o {
			return true
		}
	}
	return false
}

// unsafeMethod reports whether a method may change the resource (RFC 9110
// §9.2.1: everything but GET, HEAD, OPTIONS and TRACE).
func unsafeMethod(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return false
	}
	return true
}

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
	st.val, ok = p.ns.GetExpired(st.val[:0], st.key[:])
	if !ok || len(st.val) == 0 {
		return false
	}
	if st.val[0] == kindTooBig {
		st.tooBig = true
		return false
	}
	if st.val[0] == kindVary {
		st.key = p.variantKey(c, st, st.val[1:])
		st.val, ok = p.ns.GetExpired(st.val[:0], st.key[:])
		if !ok {
			return false
		}
	}
	e, ok := parseEntry(st.val)
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
		p.serve(c, st, e, now, statusHit)
		p.n.hit.Add(1)
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
	p.serve(c, st, e, now, statusStale)
	p.n.stale.Add(1)
	c.Stop()
	return true
}

// scanRequest reads, in one pass over the request headers, what the cache
// needs from them; it reports false when the request must bypass the
// cache (Cache-Control: no-store).
func (p *Plugin) scanRequest(c *plugin.Context, st *state) bool {
	hasCC := false
	var pragma []byte
	for k, v := range c.Request.Header.All() {
		switch len(k) {
		case 5:
			if eqFoldBytes(k, "Range") {
				if st.reqRange != nil {
					v = severalRanges // Range is a singleton: answered whole
				}
				st.reqRange = v
			}
		case 8:
			if eqFoldBytes(k, "If-Range") {
				st.reqIfRange = v
			}
		case 6:
			if eqFoldBytes(k, "Pragma") {
				pragma = v
			}
		case 13:
			if eqFoldBytes(k, "Authorization") {
				st.hadAuth = true
			} else if eqFoldBytes(k, "Cache-Control") && p.requestDirectives {
				st.req.parse(v)
				hasCC = true
			} else if eqFoldBytes(k, "If-None-Match") {
				st.reqINM = v
			}
		case 17:
			if eqFoldBytes(k, "If-Modified-Since") {
				st.reqIMS = v
			}
		}
	}
	if p.requestDirectives && !hasCC && len(pragma) > 0 && containsToken(pragma, "no-cache") {
		st.req.noCache = true
	}
	// Range is defined for GET only (RFC 9110 §14.2).
	if string(c.Method()) != "GET" {
		st.reqRange = nil
	}
	return !st.req.noStore
}

// prepareFetch readies the request for the upstream: the client's own
// validators and range are kept aside (the cache answers them itself, so
// that the upstream returns a full, storable response), a HEAD becomes a
// GET to fill the cache, and a stale entry's validators are sent to
// revalidate it.
func (p *Plugin) prepareFetch(c *plugin.Context, st *state, now int64) {
	st.mode = modeFetch
	st.stamp = now
	h := &c.Request.Header
	st.inm = append(st.inm[:0], st.reqINM...)
	st.ims = append(st.ims[:0], st.reqIMS...)
	st.rng = append(st.rng[:0], st.reqRange...)
	st.ifRange = append(st.ifRange[:0], st.reqIfRange...)
	// The request's headers change below: from now on the copies count.
	st.reqINM, st.reqIMS, st.reqRange, st.reqIfRange = st.inm, st.ims, st.rng, st.ifRange
	var e *entry
	if st.found {
		e = &st.entry
	}
	st.head, st.revalidating = setFetchHeaders(h, e)
}

// setFetchHeaders makes h a request the upstream answers with a full,
// storable response: the client's validators go, a HEAD becomes a GET,
// and the validators of e, the entry in hand (nil if none), are sent to
// revalidate it. It reports whether the request was a HEAD and whether
// validators were sent.
func setFetchHeaders(h *fasthttp.RequestHeader, e *entry) (head, revalidating bool) {
	h.Del("If-None-Match")
	h.Del("If-Modified-Since")
	// The whole response is asked for, as nginx's proxy_cache does: it
	// is stored, and the client's range is cut from it.
	h.Del("Range")
	h.Del("If-Range")
	if h.IsHead() {
		h.SetMethod("GET")
		head = true
	}
	if e == nil {
		return head, false
	}
	if etag := e.header("ETag"); len(etag) > 0 {
		h.SetBytesV("If-None-Match", etag)
		revalidating = true
	}
	if lm := e.header("Last-Modified"); len(lm) > 0 {
		h.SetBytesV("If-Modified-Since", lm)
		revalidating = true
	}
	return head, revalidating
}

// finish handles the upstream's answer to a fetch: refresh the entry on
// 304, serve it stale on an error, or store the new response. serve is
// false for background refreshes, whose response nobody reads.
func (p *Plugin) finish(c *plugin.Context, st *state, serve bool) {
	defer p.flights.finish(st.digest, st.flight)
	st.flight = nil
	if serve && st.head {
		c.Request.Header.SetMethod("HEAD")
	}
	resp := c.Response
	status := resp.StatusCode()
	now := time.Now().UnixNano()
	switch {
	case status == 304 && st.revalidating && st.found:
		// Update the stored headers with the 304's (RFC 9111 §4.3.4) and
		// store the result as a new response.
		var upd fasthttp.ResponseHeader
		resp.Header.CopyTo(&upd)
		st.validated = true
		st.date304 = append(st.date304[:0], upd.Peek("Date")...)
		p.writeEntry(st, resp, &st.entry)
		resp.SetBody(st.entry.body)
		for k := range upd.All() {
			if skipOn304(k) {
				continue
			}
			resp.Header.DelBytes(k)
		}
		for k, v := range upd.All() {
			if !skipOn304(k) {
				resp.Header.AddBytesKV(k, v)
			}
		}
		rec, ok := p.store(c, st, now)
		p.n.revalidated.Add(1)
		if serve {
			if e, parsed := parseEntry(rec); ok && parsed {
				p.serve(c, st, &e, now, statusRevalidated)
			} else {
				p.stripOwn(resp)
				resp.Header.SetBytesKV(hdrStatus, statusRevalidated)
				answerClient(resp, st, resp.Body(), true)
			}
		}
		return
	case st.found && serverError(status) && p.staleIfError(&st.entry, now):
		if serve {
			p.serve(c, st, &st.entry, now, statusStale)
			p.n.stale.Add(1)
		}
		return
	}
	if _, stored := p.store(c, st, now); !stored && status == 200 && resp.IsBodyStream() && len(st.rng) > 0 {
		p.markTooBig(st)
	}
	if !serve {
		return
	}
	label := statusMiss
	switch {
	case resp.IsBodyStream():
		label = statusBypass
		p.n.bypass.Add(1)
	case st.found:
		label = statusExpired
		p.n.expired.Add(1)
	default:
		p.n.miss.Add(1)
	}
	p.stripOwn(resp)
	resp.Header.SetBytesKV(hdrStatus, label)
	if status == 200 && !resp.IsBodyStream() {
		answerClient(resp, st, resp.Body(), true)
	} else if status == 200 {
		answerConditional(resp, st.reqINM, st.reqIMS)
	}
}

// tooBigMemory is how long the cache remembers that a response was too
// large (or too long to announce its length) to be stored.
const tooBigMemory = 10 * time.Minute

// markTooBig records, after a Range request's whole response turned out
// to stream past what the cache can hold, that further Range requests
// for it go to the upstream (see range.go) instead of fetching the whole
// response each time.
func (p *Plugin) markTooBig(st *state) {
	gen := p.ns.KeyGeneration(st.path)
	if gen == 0 {
		gen = p.ns.RenewKeyGeneration(st.path)
	}
	key := baseKey(st.digest, gen)
	p.ns.Set(key[:], []byte{kindTooBig}, tooBigMemory)
}

func serverError(s int) bool { return s == 500 || s == 502 || s == 503 || s == 504 }

// staleIfError reports whether e may be served in place of an error:
// never when it must be revalidated before use (no-cache: RFC 9111
// §5.2.2.4) or once stale (must-revalidate, proxy-revalidate, s-maxage:
// §5.2.2.2, §4.2.4), whatever stale-if-error says; the client gets the
// error.
func (p *Plugin) staleIfError(e *entry, now int64) bool {
	if e.flags&(flagNoStale|flagNoCache) != 0 {
		return false
	}
	return e.age(now)-e.lifetime < e.sie
}

// skipOn304 lists the headers of a 304 that do not update a stored response.
func skipOn304(k []byte) bool {
	// Date counts (st.date304), but is set apart: writeEntry wrote the
	// stored one, which fasthttp would not let the 304's replace.
	return eqFoldBytes(k, "Content-Length") || eqFoldBytes(k, "Content-Type") || eqFoldBytes(k, "Content-Encoding") ||
		eqFoldBytes(k, "X-Cache-Status") || eqFoldBytes(k, "Transfer-Encoding") || eqFoldBytes(k, "Connection") ||
		eqFoldBytes(k, "Date")
}

// serve writes entry e as the response, with Age and X-Cache-Status, and
// answers the client's validators with 304 when they match, and its
// range.
func (p *Plugin) serve(c *plugin.Context, st *state, e *entry, now int64, label []byte) {
	resp := c.Response
	p.writeEntry(st, resp, e)
	var buf [20]byte
	resp.Header.SetCanonical(hdrAge, strconv.AppendInt(buf[:0], e.age(now)/int64(time.Second), 10))
	resp.Header.SetCanonical(hdrStatus, label)
	if e.status == 200 {
		answerClient(resp, st, e.body, false)
	} else {
		resp.SetBody(e.body)
	}
}

// answerClient completes a 200 response whose body is body (already in
// resp when set): the client's validators are answered first (a 304 when
// they match), then its range (206, 416); otherwise the whole body goes.
// A range is cut from body before it is copied into resp, so that the
// response's pooled buffer only ever holds what is sent.
func answerClient(resp *fasthttp.Response, st *state, body []byte, set bool) {
	if answerConditional(resp, st.reqINM, st.reqIMS) {
		return
	}
	if len(st.reqRange) > 0 && answerRange(resp, body, st.reqRange, st.reqIfRange) {
		return
	}
	if !set {
		resp.SetBody(body)
	}
}

// writeEntry replaces resp with the stored response's status and headers
// (the caller sets the body). Its header is
// rendered once per state and entry: the state keeps the last one it
// rendered (pooled states are reused by the same P, and hot entries are
// served over and over), and the same entry again is one copy. An entry
// is known by its key and the times it was requested and received, which
// no other record shares.
func (p *Plugin) writeEntry(st *state, resp *fasthttp.Response, e *entry) {
	resp.Reset()
	if st.memoOK && st.memoKey == st.key && st.memoStamp == e.stamp && st.memoRespTime == e.respTime {
		st.memo.CopyTo(&resp.Header)
		return
	}
	r := reader{b: e.headers}
	for i := 0; i < e.nh; i++ {
		k, ok1 := r.next()
		v, ok2 := r.next()
		if !ok1 || !ok2 || len(k) == 0 {
			break
		}
		if i == 0 && eqFoldBytes(k, "Date") {
			// Stored first (see store): the origin's Date is kept.
			setDate(st, resp, v)
			continue
		}
		// Names are stored canonical; a repeated name (second Vary,
		// Link...) is marked with a leading repeatMark and added.
		if k[0] == repeatMark {
			resp.Header.AddBytesKV(k[1:], v)
		} else {
			resp.Header.SetCanonical(k, v)
		}
	}
	resp.SetStatusCode(e.status)
	resp.Header.CopyTo(&st.memo)
	st.memoKey, st.memoStamp, st.memoRespTime, st.memoOK = st.key, e.stamp, e.respTime, true
}

// answerConditional turns a 200 into a 304 when the client's validators
// match it (RFC 9110 §13.1.2 and §13.1.3: If-None-Match wins), and
// reports whether it did.
func answerConditional(resp *fasthttp.Response, inm, ims []byte) bool {
	if len(inm) == 0 && len(ims) == 0 {
		return false
	}
	if !notModified(inm, ims, resp.Header.Peek("ETag"), resp.Header.Peek("Last-Modified")) {
		return false
	}
	resp.SetStatusCode(304)
	resp.Header.SetStatusMessage(nil)
	resp.ResetBody()
	resp.Header.Del("Content-Type")
	resp.Header.Del("Content-Encoding")
	return true
}

// notModified evaluates If-None-Match (weak comparison) or, without it,
// If-Modified-Since.
func notModified(inm, ims, etag, lastMod []byte) bool {
	if len(inm) > 0 {
		// "*" matches any current representation (RFC 9110 §13.1.2).
		if string(trim(inm)) == "*" {
			return true
		}
		if len(etag) == 0 {
			return false
		}
		want := opaque(etag)
		for len(inm) > 0 {
			i := bytes.IndexByte(inm, ',')
			if i < 0 {
				i = len(inm)
			}
			if bytes.Equal(opaque(trim(inm[:i])), want) {
				return true
			}
			if i == len(inm) {
				break
			}
			inm = inm[i+1:]
		}
		return false
	}
	since, ok1 := parseDate(ims)
	lm, ok2 := parseDate(lastMod)
	return ok1 && ok2 && lm <= since
}

// opaque strips the weakness indicator of an entity tag.
func opaque(t []byte) []byte {
	if len(t) > 2 && t[0] == 'W' && t[1] == '/' {
		return t[2:]
	}
	return t
}

// invalidateAfter drops the cached responses of an unsafe request's URL,
// and of its Location and Content-Location on the same host, when it
// succeeded (RFC 9111 §4.4).
func (p *Plugin) invalidateAfter(c *plugin.Context, st *state) {
	s := c.Response.StatusCode()
	if s < 200 || s >= 400 {
		return
	}
	purgePath(p.ns, st.path)
	p.n.invalidated.Add(1)
	for _, name := range [...]string{"Location", "Content-Location"} {
		loc := c.Response.Header.Peek(name)
		if len(loc) == 0 {
			continue
		}
		path, ok := sameHostPath(loc, st.host)
		if ok {
			purgePath(p.ns, path)
		}
	}
}

// sameHostPath returns the normalized path of a Location value when it is
// relative or names host.
func sameHostPath(loc, host []byte) ([]byte, bool) {
	if len(loc) > 0 && loc[0] == '/' && !(len(loc) > 1 && loc[1] == '/') {
		return normalizePath(string(loc)), true
	}
	var u fasthttp.URI
	if err := u.Parse(nil, loc); err != nil {
		return nil, false
	}
	if !bytes.EqualFold(u.Host(), host) {
		return nil, false
	}
	return append([]byte(nil), u.Path()...), true
}

// purgeRequest answers a PURGE of the request's URL.
func (p *Plugin) purgeRequest(c *plugin.Context) error {
	if !p.purgeAllowed(c) {
		return plugin.NewError(403, "purge not allowed")
	}
	purgePath(p.ns, c.Path())
	body := append([]byte(`{"purged":`), strconv.Quote("url "+string(c.Path()))...)
	c.Respond(200, "application/json", append(body, "}\n"...))
	return nil
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
