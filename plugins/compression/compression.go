package compression

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/moongate/moongate/core/compress"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/transformstep"
	"github.com/valyala/fasthttp"
)

func init() { plugin.Register("compression", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Encodings are the codings the step answers with, in its order of
	// preference between codings a client weighs equally: "zstd", "br",
	// "gzip". Default ["zstd", "br", "gzip"].
	Encodings []string `toml:"encodings"`
	// Levels are the compression levels. Default gzip 5, br 4, zstd 3.
	Levels Levels `toml:"levels"`
	// Types are the content types compressed: "text/*",
	// "application/json", "application/*+json", "*/*". Default: text,
	// JSON, XML, JavaScript, NDJSON, WASM, SVG, icons, TrueType/OpenType
	// (also when set to []).
	Types []string `toml:"types"`
	// MinSize is the smallest body compressed. Default "1KB".
	MinSize config.Size `toml:"min_size"`
	// Streaming compresses live streams too (server-sent events, NDJSON,
	// X-Accel-Buffering: no), flushing after every chunk the upstream
	// sends, so that each event reaches the client at once. Default
	// false: live streams pass through uncompressed.
	Streaming bool `toml:"streaming"`
}

// Levels are the compression levels per coding.
type Levels struct {
	// Gzip is 1 (fastest) to 9. Default 5.
	Gzip int `toml:"gzip"`
	// Br is brotli's 0 to 11 (10 and 11 are for static files, about a
	// millisecond per KB). Default 4.
	Br int `toml:"br"`
	// Zstd is 1 to 22. Default 3.
	Zstd int `toml:"zstd"`
}

// Plugin is an instance of compression.
type Plugin struct {
	offered   []compress.Encoding
	comps     [4]*compress.Compressor // by compress.Encoding
	types     *compress.TypeMatcher
	minSize   int
	streaming bool
}

var _ plugin.ResponseHandler = (*Plugin)(nil)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{
		Encodings: []string{"zstd", "br", "gzip"},
		Levels: Levels{Gzip: compress.DefaultLevel(compress.Gzip), Br: compress.DefaultLevel(compress.Brotli),
			Zstd: compress.DefaultLevel(compress.Zstd)},
		Types:   compress.DefaultTypes,
		MinSize: 1 << 10,
	}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if len(cfg.Types) == 0 {
		cfg.Types = compress.DefaultTypes
	}
	p := &Plugin{minSize: cfg.MinSize.Int(), streaming: cfg.Streaming}
	if cfg.MinSize < 0 {
		return nil, spec.Config.Problem("min_size", "must not be negative")
	}
	if len(cfg.Encodings) == 0 {
		return nil, spec.Config.Problem("encodings", "needs at least one of \"zstd\", \"br\", \"gzip\"")
	}
	levels := map[compress.Encoding]int{compress.Gzip: cfg.Levels.Gzip, compress.Brotli: cfg.Levels.Br, compress.Zstd: cfg.Levels.Zstd}
	for i, name := range cfg.Encodings {
		key := "encodings[" + strconv.Itoa(i) + "]"
		e, err := compress.ParseEncoding(name)
		if err != nil {
			return nil, spec.Config.Problem(key, "unknown coding "+strconv.Quote(name)+": use \"zstd\", \"br\" or \"gzip\"")
		}
		if p.comps[e] != nil {
			return nil, spec.Config.Problem(key, strconv.Quote(name)+" is listed twice")
		}
		comp, err := compress.NewCompressor(e, levels[e])
		if err != nil {
			return nil, spec.Config.Problem("levels."+e.String(), err.Error())
		}
		p.comps[e] = comp
		p.offered = append(p.offered, e)
	}
	types, err := compress.NewTypeMatcher(cfg.Types)
	if err != nil {
		return nil, spec.Config.Problem("types", err.Error())
	}
	p.types = types
	return p, nil
}

// OnResponse implements plugin.ResponseHandler.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	r := c.Response
	h := &r.Header
	switch s := r.StatusCode(); {
	case s < 200 || s == 204 || s == 206 || s == 304:
		return nil
	case len(bytes.TrimSpace(h.ContentEncoding())) > 0:
		return nil // compressed by the upstream or a step already
	case bytes.Equal(c.Method(), []byte("HEAD")):
		return nil
	case !p.types.Match(h.ContentType()):
		return nil
	case hasToken(h.Peek("Cache-Control"), "no-transform"):
		return nil // RFC 9110 §7.7: a proxy must not transform it
	}
	streamed := r.IsBodyStream()
	size := 0
	if streamed {
		size = h.ContentLength() // negative when unknown
	} else {
		size = len(r.Body())
	}
	if size >= 0 && size < p.minSize {
		return nil
	}
	live := streamed && size < 0 && liveStream(h)
	if live && !p.streaming {
		return nil
	}
	if streamed && size >= 0 && !c.Request.Header.IsHTTP11() {
		// The compressed stream has no length: an HTTP/1.0 client could
		// only get it in chunks, which it cannot read.
		return nil
	}
	// From here on the answer depends on Accept-Encoding, compressed or
	// not: a cache must keep the variants apart.
	addVary(h)
	enc := compress.Negotiate(c.Request.Header.Peek("Accept-Encoding"), p.offered)
	if enc == compress.Identity {
		return nil
	}
	if streamed {
		p.compressStream(c, enc, live)
		return nil
	}
	p.compressBody(c, enc)
	return nil
}

var buffers = sync.Pool{New: func() any { return new([]byte) }}

// compressBody compresses a body in memory, unless that would not make
// it smaller.
func (p *Plugin) compressBody(c *plugin.Context, enc compress.Encoding) {
	r := c.Response
	body := r.Body()
	bp := buffers.Get().(*[]byte)
	out := p.comps[enc].Append((*bp)[:0], body)
	if len(out) < len(body) {
		r.SetBody(out) // Content-Length follows the body
		encoded(&r.Header, enc)
	}
	if cap(out) <= 4<<20 {
		*bp = out[:0]
		buffers.Put(bp)
	}
}

// encoded marks a response as compressed with enc.
func encoded(h *fasthttp.ResponseHeader, enc compress.Encoding) {
	h.SetContentEncoding(enc.String())
	transformstep.WeakETag(h)
	// A range would be of the compressed bytes, which differ per request.
	h.Del("Accept-Ranges")
}

// compressStream replaces a streamed body by its compressed stream, read
// and compressed as the client takes it.
func (p *Plugin) compressStream(c *plugin.Context, enc compress.Encoding, live bool) {
	src := c.TakeResponseStream()
	if src == nil {
		return // a stream a step made that cannot be taken over: sent as it is
	}
	s := streams.Get().(*stream)
	s.src, s.comp = src, p.comps[enc]
	s.zw = s.comp.AcquireWriter(s, live)
	c.Response.SetBodyStream(s, -1)
	encoded(&c.Response.Header, enc)
}

// stream is a compressed body stream: each Read reads the source until
// the compressor has output (with flushing, after every chunk the source
// gives, so that an event is sent when it comes), and returns it.
type stream struct {
	src     io.ReadCloser
	comp    *compress.Compressor
	zw      *compress.Writer
	in      []byte
	pending []byte // compressed, not yet read
	off     int
	err     error // what Read returns once pending is empty; io.EOF at the end
	closed  bool
}

var streams = sync.Pool{New: func() any { return &stream{in: make([]byte, 16<<10)} }}

// Write receives the compressor's output.
func (s *stream) Write(p []byte) (int, error) {
	s.pending = append(s.pending, p...)
	return len(p), nil
}

// Read implements io.Reader.
func (s *stream) Read(p []byte) (int, error) {
	for s.off >= len(s.pending) {
		if s.err != nil {
			return 0, s.err
		}
		s.pending, s.off = s.pending[:0], 0
		n, err := s.src.Read(s.in)
		if n > 0 {
			if _, werr := s.zw.Write(s.in[:n]); werr != nil && err == nil {
				err = werr
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			if cerr := s.zw.Close(); cerr != nil {
				s.err = cerr
			} else {
				s.err = io.EOF
			}
		case err != nil:
			// The upstream failed mid-stream: the client's response must
			// end in an error too, not in a well-formed compressed end.
			s.err = err
		}
	}
	n := copy(p, s.pending[s.off:])
	s.off += n
	return n, nil
}

// Close implements io.Closer: it closes the source (giving the upstream
// connection back) and returns the encoder to its pool.
func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.src.Close()
	s.comp.ReleaseWriter(s.zw)
	s.src, s.comp, s.zw, s.err = nil, nil, nil, nil
	s.off = 0
	if cap(s.pending) > 256<<10 {
		s.pending = nil
	} else {
		s.pending = s.pending[:0]
	}
	s.closed = false
	streams.Put(s)
	return err
}

// addVary adds Accept-Encoding to Vary, unless it is there (or "*").
func addVary(h *fasthttp.ResponseHeader) {
	for _, line := range h.PeekAll("Vary") {
		if hasToken(line, "accept-encoding") || hasToken(line, "*") {
			return
		}
	}
	h.Add("Vary", "Accept-Encoding")
}

// hasToken reports whether the comma-separated list v holds token
// (lower case), in any case, ignoring parameters ("no-transform" in
// "max-age=60, No-Transform").
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var elem []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			elem, v = v[:i], v[i+1:]
		} else {
			elem, v = v, nil
		}
		if i := bytes.IndexAny(elem, ";="); i >= 0 {
			elem = elem[:i]
		}
		if eqFold(bytes.TrimSpace(elem), token) {
			return true
		}
	}
	return false
}

// liveStream reports whether a response of unknown length is meant to be
// read as it comes (the upstream's rule for not buffering it): server-sent
// events, NDJSON and other stream types, or X-Accel-Buffering: no.
func liveStream(h *fasthttp.ResponseHeader) bool {
	ct := h.ContentType()
	for _, s := range []string{"event-stream", "ndjson", "jsonl", "stream"} {
		if containsFold(ct, s) {
			return true
		}
	}
	return eqFold(bytes.TrimSpace(h.Peek("X-Accel-Buffering")), "no")
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if eqFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
