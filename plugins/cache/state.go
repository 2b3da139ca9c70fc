package cache

import (
	"bufio"
	"bytes"
	"sync"

	"github.com/moongate/moongate/core/consumer"
	"github.com/valyala/fasthttp"
)

// state is what the request phase of one request leaves for its response
// phase. It comes from a pool; its buffers are reused.
type state struct {
	mode         uint8              // what the request phase decided: modeBypass, modeFetch, modeInvalidate
	found        bool               // an entry was found (st.entry), fresh or not
	tooBig       bool               // the key's response is known to be too large to store
	validated    bool               // a 304 revalidated the entry: date304 is its Date
	revalidating bool               // the entry's validators were sent upstream
	head         bool               // a HEAD was turned into a GET
	hadAuth      bool               // the request carried credentials: Authorization, or a consumer an auth step authenticated
	perConsumer  bool               // the key holds the authenticated consumer (key_consumer)
	consumer     *consumer.Consumer // the consumer when the key was made
	upstream     string             // the upstream's name when the key was made
	target       string             // the target when the key was made
	keyParts     int                // length of the steps' key parts when the key was made
	req          directives         // the request's Cache-Control (request_directives)
	digest       [16]byte           // hash of everything the key is made of, but the path generation
	gen          uint64             // the path's generation seen at lookup (0: none)
	key          [24]byte           // key of the entry found
	stamp        int64              // when the request went upstream
	entry        entry              // points into record
	val          []byte             // what the store read for the key: the record found, after the store's header (serve moves it into the response: moveBody)
	record       []byte             // the record found: a part of val
	path         []byte             // the request's path, as keyed: the generation's key
	host         []byte             // the request's Host, for invalidation of a Location on the same host
	inm, ims     []byte             // the client's validators, kept aside
	reqINM       []byte             // the client's If-None-Match (in the request's headers)
	reqIMS       []byte             // the client's If-Modified-Since (in the request's headers)
	reqRange     []byte             // the client's Range of a GET (in the request's headers)
	reqIfRange   []byte             // the client's If-Range (in the request's headers)
	rng, ifRange []byte             // copies of Range and If-Range, kept aside when going upstream
	date304      []byte             // the Date of the 304 that revalidated the entry
	dateBuf      []byte             // the header block setDate parses
	dateSrc      bytes.Reader       // what dateReader reads: dateBuf
	dateReader   *bufio.Reader      // reads the header block setDate parses
	// The header writeEntry rendered last, and for which entry: a memo
	// kept across requests, not per-request state.
	memo                    fasthttp.ResponseHeader
	memoKey                 [24]byte
	memoStamp, memoRespTime int64
	memoOK                  bool
	vary                    varyScratch // scratch space of the normalized Vary values
	keybuf                  []byte      // what the digest is made of, being built
	args                    [][]byte    // query arguments being sorted (point into the request)
	rec                     []byte      // record being stored
	flight                  *flight     // the fetch this request leads (collapse), finished with it
}

var statePool = sync.Pool{New: func() any {
	st := &state{keybuf: make([]byte, 0, 512), val: make([]byte, 0, 16<<10), args: make([][]byte, 0, 16)}
	st.dateReader = bufio.NewReaderSize(&st.dateSrc, 128)
	return st
}}

func acquireState() *state {
	st := statePool.Get().(*state)
	st.req = newDirectives()
	return st
}

// maxPooledBuffer keeps huge records' buffers out of the pool.
const maxPooledBuffer = 256 << 10

func releaseState(st *state) {
	if st == bypassState {
		return
	}
	st.mode, st.found, st.revalidating, st.head, st.hadAuth, st.perConsumer = 0, false, false, false, false, false
	st.tooBig, st.validated = false, false
	st.gen, st.stamp, st.entry, st.record, st.flight, st.consumer = 0, 0, entry{}, nil, nil, nil
	st.upstream, st.target, st.keyParts = "", "", 0
	st.path, st.host, st.inm, st.ims = st.path[:0], st.host[:0], st.inm[:0], st.ims[:0]
	st.reqINM, st.reqIMS, st.reqRange, st.reqIfRange = nil, nil, nil, nil
	st.rng, st.ifRange, st.date304 = st.rng[:0], st.ifRange[:0], st.date304[:0]
	st.keybuf = st.keybuf[:0]
	clear(st.args)
	st.args = st.args[:0]
	if cap(st.val) > maxPooledBuffer {
		st.val = make([]byte, 0, 16<<10)
	}
	if cap(st.rec) > maxPooledBuffer {
		st.rec = nil
	}
	st.val, st.rec = st.val[:0], st.rec[:0]
	statePool.Put(st)
}
