package compression

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/moongate/moongate/core/compress"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

func build(tb testing.TB, tomlText string) (*Plugin, error) {
	tb.Helper()
	var raw map[string]any
	if _, err := toml.Decode(tomlText, &raw); err != nil {
		tb.Fatal(err)
	}
	inst, err := New(plugin.Spec{Name: "compression", Config: config.NewTable("config", raw)})
	if err != nil {
		return nil, err
	}
	return inst.(*Plugin), nil
}

func mustBuild(tb testing.TB, tomlText string) *Plugin {
	tb.Helper()
	p, err := build(tb, tomlText)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// jsonDoc returns an API-like JSON document of about n bytes.
func jsonDoc(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := []byte(`{"items":[`)
	for i := 0; len(b) < n-40; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(r.IntN(100000)), 10)
		b = append(b, `,"name":"item `...)
		b = strconv.AppendInt(b, int64(r.IntN(1000)), 10)
		b = append(b, `","status":"shipped","price":`...)
		b = strconv.AppendInt(b, int64(r.IntN(10000)), 10)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// respond runs the response phase; prep fills in request and response.
func respond(t *testing.T, p *Plugin, prep func(fc *fasthttp.RequestCtx)) *fasthttp.Response {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Request.SetRequestURI("/x")
	fc.Response.Header.SetContentType("application/json")
	prep(fc)
	c := plugintest.NewContext(fc)
	t.Cleanup(func() { plugintest.Release(c) })
	if err := p.OnResponse(c); err != nil {
		t.Fatal(err)
	}
	return &fc.Response
}

func decode(t *testing.T, r *fasthttp.Response) []byte {
	t.Helper()
	var e compress.Encoding
	switch ce := string(r.Header.Peek("Content-Encoding")); ce {
	case "":
		return r.Body()
	case "gzip":
		e = compress.Gzip
	case "br":
		e = compress.Brotli
	case "zstd":
		e = compress.Zstd
	default:
		t.Fatalf("Content-Encoding %q", ce)
	}
	out, err := compress.AppendDecompressed(nil, r.Body(), e, 16<<20)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNegotiation(t *testing.T) {
	p := mustBuild(t, "")
	doc := jsonDoc(8 << 10)
	for _, tc := range []struct{ accept, want string }{
		{"gzip, deflate, br, zstd", "zstd"},
		{"gzip, deflate, br", "br"},
		{"gzip;q=1.0, br;q=0.5", "gzip"},
		{"identity;q=1, gzip;q=0.5", ""},
		{"", ""},
		{"compress", ""},
	} {
		r := respond(t, p, func(fc *fasthttp.RequestCtx) {
			if tc.accept != "" {
				fc.Request.Header.Set("Accept-Encoding", tc.accept)
			}
			fc.Response.Header.Set("ETag", `"abc"`)
			fc.Response.Header.Set("Accept-Ranges", "bytes")
			fc.Response.SetBody(doc)
		})
		if got := string(r.Header.Peek("Content-Encoding")); got != tc.want {
			t.Fatalf("%q: Content-Encoding %q, want %q", tc.accept, got, tc.want)
		}
		if got := string(r.Header.Peek("Vary")); got != "Accept-Encoding" {
			t.Fatalf("%q: Vary %q", tc.accept, got)
		}
		if !bytes.Equal(decode(t, r), doc) {
			t.Fatalf("%q: the body does not decode to the original", tc.accept)
		}
		etag, ranges := string(r.Header.Peek("ETag")), string(r.Header.Peek("Accept-Ranges"))
		if tc.want != "" && (etag != `W/"abc"` || ranges != "" || len(r.Body()) >= len(doc)) {
			t.Fatalf("%q: ETag %q, Accept-Ranges %q, %d bytes of %d", tc.accept, etag, ranges, len(r.Body()), len(doc))
		}
		if tc.want == "" && etag != `"abc"` {
			t.Fatalf("%q: ETag %q changed on an identity response", tc.accept, etag)
		}
	}
}

func TestNotCompressed(t *testing.T) {
	p := mustBuild(t, "")
	doc := jsonDoc(8 << 10)
	for _, tc := range []struct {
		name string
		prep func(fc *fasthttp.RequestCtx)
		vary bool // Vary: Accept-Encoding is still added
	}{
		{"small", func(fc *fasthttp.RequestCtx) { fc.Response.SetBody(doc[:1000]) }, false},
		{"already encoded", func(fc *fasthttp.RequestCtx) {
			fc.Response.Header.Set("Content-Encoding", "br")
			fc.Response.SetBody(doc)
		}, false},
		{"206", func(fc *fasthttp.RequestCtx) {
			fc.Response.SetStatusCode(206)
			fc.Response.SetBody(doc)
		}, false},
		{"304", func(fc *fasthttp.RequestCtx) { fc.Response.SetStatusCode(304) }, false},
		{"HEAD", func(fc *fasthttp.RequestCtx) {
			fc.Request.Header.SetMethod("HEAD")
			fc.Response.SetBody(doc)
		}, false},
		{"image", func(fc *fasthttp.RequestCtx) {
			fc.Response.Header.SetContentType("image/png")
			fc.Response.SetBody(doc)
		}, false},
		{"no-transform", func(fc *fasthttp.RequestCtx) {
			fc.Response.Header.Set("Cache-Control", "public, No-Transform")
			fc.Response.SetBody(doc)
		}, false},
		{"incompressible", func(fc *fasthttp.RequestCtx) {
			noise := make([]byte, 8<<10)
			r := rand.New(rand.NewPCG(5, 6))
			for i := range noise {
				noise[i] = byte(r.Uint32())
			}
			fc.Response.SetBody(noise)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent []byte
			r := respond(t, p, func(fc *fasthttp.RequestCtx) {
				fc.Request.Header.Set("Accept-Encoding", "gzip")
				tc.prep(fc)
				sent = append(sent, fc.Response.Body()...)
			})
			if ce := string(r.Header.Peek("Content-Encoding")); ce != "" && ce != "br" {
				t.Fatalf("Content-Encoding %q", ce)
			}
			if !bytes.Equal(r.Body(), sent) {
				t.Fatal("body changed")
			}
			if got := len(r.Header.Peek("Vary")) > 0; got != tc.vary {
				t.Fatalf("Vary %q", r.Header.Peek("Vary"))
			}
		})
	}
}

func TestVaryKept(t *testing.T) {
	p := mustBuild(t, "")
	doc := jsonDoc(4 << 10)
	r := respond(t, p, func(fc *fasthttp.RequestCtx) {
		fc.Request.Header.Set("Accept-Encoding", "gzip")
		fc.Response.Header.Set("Vary", "Origin")
		fc.Response.SetBody(doc)
	})
	if got := r.Header.PeekAll("Vary"); len(got) != 2 || string(got[1]) != "Accept-Encoding" {
		t.Fatalf("Vary %q", got)
	}
	r = respond(t, p, func(fc *fasthttp.RequestCtx) {
		fc.Request.Header.Set("Accept-Encoding", "gzip")
		fc.Response.Header.Set("Vary", "origin, accept-encoding")
		fc.Response.SetBody(doc)
	})
	if got := r.Header.PeekAll("Vary"); len(got) != 1 {
		t.Fatalf("Vary %q", got)
	}
}

// takeable is a streamed body a step can take over, like the upstream's.
type takeable struct {
	r      io.Reader
	closed bool
}

func (s *takeable) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s *takeable) Take() io.ReadCloser        { return takenStream{s} }

type takenStream struct{ s *takeable }

func (t takenStream) Read(p []byte) (int, error) { return t.s.Read(p) }
func (t takenStream) Close() error               { t.s.closed = true; return nil }

func TestStreams(t *testing.T) {
	doc := jsonDoc(64 << 10)
	t.Run("large body compressed as it streams", func(t *testing.T) {
		p := mustBuild(t, "")
		src := &takeable{r: bytes.NewReader(doc)}
		r := respond(t, p, func(fc *fasthttp.RequestCtx) {
			fc.Request.Header.Set("Accept-Encoding", "gzip")
			fc.Response.SetBodyStream(src, len(doc))
		})
		if string(r.Header.Peek("Content-Encoding")) != "gzip" || r.Header.ContentLength() != -1 || !r.IsBodyStream() {
			t.Fatalf("head:\n%s", r.Header.String())
		}
		zipped, err := io.ReadAll(r.BodyStream())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.CloseBodyStream(); err != nil || !src.closed {
			t.Fatalf("closing: %v, source closed %v", err, src.closed)
		}
		plain, err := compress.AppendDecompressed(nil, zipped, compress.Gzip, 1<<20)
		if err != nil || !bytes.Equal(plain, doc) {
			t.Fatalf("decoded %d bytes, want %d: %v", len(plain), len(doc), err)
		}
	})
	t.Run("live stream left alone without streaming", func(t *testing.T) {
		p := mustBuild(t, "")
		src := &takeable{r: strings.NewReader("data: 1\n\n")}
		r := respond(t, p, func(fc *fasthttp.RequestCtx) {
			fc.Request.Header.Set("Accept-Encoding", "gzip")
			fc.Response.Header.SetContentType("text/event-stream")
			fc.Response.SetBodyStream(src, -1)
		})
		if len(r.Header.Peek("Content-Encoding")) != 0 || r.BodyStream() != io.Reader(src) {
			t.Fatalf("a live stream was compressed:\n%s", r.Header.String())
		}
	})
	t.Run("live stream flushed per chunk with streaming", func(t *testing.T) {
		p := mustBuild(t, "streaming = true\nencodings = [\"gzip\"]")
		chunks := make(chan string, 2)
		chunks <- "data: 1\n\n"
		src := &takeable{r: &chanReader{c: chunks}}
		r := respond(t, p, func(fc *fasthttp.RequestCtx) {
			fc.Request.Header.Set("Accept-Encoding", "gzip")
			fc.Response.Header.SetContentType("text/event-stream")
			fc.Response.SetBodyStream(src, -1)
		})
		if string(r.Header.Peek("Content-Encoding")) != "gzip" {
			t.Fatalf("head:\n%s", r.Header.String())
		}
		// One Read gives what the source gave so far, decodable: the
		// client sees the event without waiting for the next.
		buf := make([]byte, 64<<10)
		n, err := r.BodyStream().Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzipReader(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 64)
		m, _ := io.ReadAtLeast(zr, got, len("data: 1\n\n"))
		if string(got[:m]) != "data: 1\n\n" {
			t.Fatalf("first read decodes to %q", got[:m])
		}
		close(chunks)
		rest, err := io.ReadAll(r.BodyStream())
		if err != nil {
			t.Fatal(err)
		}
		if plain, err := compress.AppendDecompressed(nil, append(buf[:n], rest...), compress.Gzip, 1<<20); err != nil || string(plain) != "data: 1\n\n" {
			t.Fatalf("whole stream: %q, %v", plain, err)
		}
		_ = r.CloseBodyStream()
	})
	t.Run("HTTP/1.0 with a known length left alone", func(t *testing.T) {
		p := mustBuild(t, "")
		src := &takeable{r: bytes.NewReader(doc)}
		r := respond(t, p, func(fc *fasthttp.RequestCtx) {
			fc.Request.Header.SetProtocol("HTTP/1.0")
			fc.Request.Header.Set("Accept-Encoding", "gzip")
			fc.Response.SetBodyStream(src, len(doc))
		})
		if len(r.Header.Peek("Content-Encoding")) != 0 || r.Header.ContentLength() != len(doc) {
			t.Fatalf("head:\n%s", r.Header.String())
		}
	})
	t.Run("stream that cannot be taken left alone", func(t *testing.T) {
		p := mustBuild(t, "")
		src := bytes.NewReader(doc)
		r := respond(t, p, func(fc *fasthttp.RequestCtx) {
			fc.Request.Header.Set("Accept-Encoding", "gzip")
			fc.Response.SetBodyStream(src, len(doc))
		})
		if len(r.Header.Peek("Content-Encoding")) != 0 || src.Len() != len(doc) {
			t.Fatalf("head:\n%s", r.Header.String())
		}
	})
}

// chanReader returns each string received as one read; EOF when closed.
type chanReader struct{ c chan string }

func (r *chanReader) Read(p []byte) (int, error) {
	s, ok := <-r.c
	if !ok {
		return 0, io.EOF
	}
	return copy(p, s), nil
}

func TestEmptyTypesMeanDefaults(t *testing.T) {
	p := mustBuild(t, "types = []")
	r := respond(t, p, func(fc *fasthttp.RequestCtx) {
		fc.Request.Header.Set("Accept-Encoding", "gzip")
		fc.Response.SetBody(jsonDoc(4 << 10))
	})
	if string(r.Header.Peek("Content-Encoding")) != "gzip" {
		t.Fatal("types = [] compresses nothing")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{`encodings = ["deflate"]`, `encodings[0]: unknown coding "deflate"`},
		{`encodings = ["gzip", "gzip"]`, "listed twice"},
		{`encodings = []`, "needs at least one"},
		{`levels = { gzip = 10 }`, "levels.gzip"},
		{`levels = { brotli = 5 }`, "levels.brotli: unknown key"},
		{`types = ["json"]`, "types"},
		{`min_size = -1`, "min_size"},
	} {
		_, err := build(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.toml, err, tc.want)
		}
	}
}
