package responsetransformer

import (
	"bytes"
	"errors"
	"strconv"
	"sync"

	"github.com/moongate/moongate/core/compress"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/transformstep"
)

func init() { plugin.Register("response-transformer", New) }

// Config is the plugin's TOML table: the operations (remove, rename,
// replace, set, add, append; see transformstep.Config: headers and body,
// no query) and how far body edits go.
type Config struct {
	transformstep.Config
	// Decompress lets the step edit a body the upstream compressed (gzip,
	// br, zstd): it is decoded, edited and sent on without
	// Content-Encoding (a compression step outside this one compresses it
	// again). Default false: compressed bodies pass through unedited.
	Decompress bool `toml:"decompress"`
	// MaxBodySize is the largest body edited, counted decoded; larger
	// ones pass through. Default "1MB".
	MaxBodySize config.Size `toml:"max_body_size"`
}

// Plugin is an instance of response-transformer.
type Plugin struct {
	prog       *transformstep.Program
	decompress bool
	max        int
}

var _ plugin.ResponseHandler = (*Plugin)(nil)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{MaxBodySize: 1 << 20}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.MaxBodySize <= 0 {
		return nil, spec.Config.Problem("max_body_size", "must be more than 0, got "+strconv.Itoa(cfg.MaxBodySize.Int()))
	}
	prog, err := transformstep.Compile(spec.Config, &cfg.Config, transformstep.Options{Params: transformstep.RouteParams(spec)})
	if err != nil {
		return nil, err
	}
	return &Plugin{prog: prog, decompress: cfg.Decompress, max: cfg.MaxBodySize.Int()}, nil
}

// OnResponse implements plugin.ResponseHandler.
func (p *Plugin) OnResponse(c *plugin.Context) error {
	st := transformstep.AcquireState(c)
	defer transformstep.ReleaseState(st)
	if p.prog.HasBody() {
		p.editBody(c, st)
	}
	if p.prog.HasHeaders() {
		p.prog.ApplyHeaders(c, &c.Response.Header, st, false)
	}
	return nil
}

var decoded = sync.Pool{New: func() any { return new([]byte) }}

func (p *Plugin) editBody(c *plugin.Context, st *transformstep.State) {
	r := c.Response
	switch s := r.StatusCode(); {
	case s == 204 || s == 304 || s < 200:
		return
	case bytes.Equal(c.Method(), []byte("HEAD")):
		return
	case !transformstep.IsJSON(r.Header.ContentType()):
		return
	case r.IsBodyStream():
		// Holding it back until it ends could be forever (a live stream),
		// or hold a large body in memory the upstream chose to stream.
		p.prog.LogBadBody(c, "response streamed (large or live): body not edited", nil)
		return
	}
	body := r.Body()
	enc, ok := encoding(r.Header.ContentEncoding())
	if !ok {
		p.prog.LogBadBody(c, "response body in an unknown Content-Encoding: not edited", nil)
		return
	}
	var dp *[]byte
	if enc != compress.Identity {
		if !p.decompress {
			p.prog.LogBadBody(c, "response body compressed (set decompress = true to edit it): not edited", nil)
			return
		}
		dp = decoded.Get().(*[]byte)
		defer func() {
			*dp = (*dp)[:0]
			decoded.Put(dp)
		}()
		var err error
		*dp, err = compress.AppendDecompressed((*dp)[:0], body, enc, p.max)
		if err != nil {
			what := "compressed response body is corrupt: not edited"
			if errors.Is(err, compress.ErrTooLarge) {
				what = "decompressed response body over max_body_size: not edited"
			}
			p.prog.LogBadBody(c, what, err)
			return
		}
		body = *dp
	} else if len(body) > p.max {
		p.prog.LogBadBody(c, "response body over max_body_size: not edited", nil)
		return
	}
	if len(body) == 0 {
		return
	}
	out, err := p.prog.ApplyBody(body, st)
	if err != nil {
		p.prog.LogBadBody(c, "response body is not a JSON object or array", err)
		return
	}
	r.SetBody(out)
	if enc != compress.Identity {
		r.Header.Del("Content-Encoding")
	}
	transformstep.WeakETag(&r.Header)
}

// encoding reads a Content-Encoding this step can decode: none (or
// identity), gzip (x-gzip), br or zstd; a list of codings is not one.
func encoding(ce []byte) (compress.Encoding, bool) {
	ce = bytes.TrimSpace(ce)
	switch {
	case len(ce) == 0 || eqFold(ce, "identity"):
		return compress.Identity, true
	case eqFold(ce, "gzip") || eqFold(ce, "x-gzip"):
		return compress.Gzip, true
	case eqFold(ce, "br"):
		return compress.Brotli, true
	case eqFold(ce, "zstd"):
		return compress.Zstd, true
	}
	return compress.Identity, false
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x := b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != s[i] {
			return false
		}
	}
	return true
}
