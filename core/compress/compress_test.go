package compress

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	brotli "github.com/molecule-man/go-brrr"
)

func TestNegotiate(t *testing.T) {
	all := []Encoding{Zstd, Brotli, Gzip}
	for _, tc := range []struct {
		name, header string
		offered      []Encoding
		want         Encoding
	}{
		{"absent", "", all, Identity},
		{"gzip only", "gzip", all, Gzip},
		{"browser", "gzip, deflate, br, zstd", all, Zstd},
		{"server order on ties", "gzip, br", all, Brotli},
		{"server order on ties, other order", "gzip, br", []Encoding{Gzip, Brotli}, Gzip},
		{"q decides", "gzip;q=1.0, br;q=0.5, zstd;q=0.8", all, Gzip},
		{"zero is refusal", "gzip;q=0.5, br, zstd;q=0", all, Brotli},
		{"case-insensitive", "GZIP;Q=0.5, Br", []Encoding{Gzip, Brotli}, Brotli},
		{"x-gzip", "x-gzip", all, Gzip},
		{"star", "*", all, Zstd},
		{"star weight for the unnamed", "br;q=0.2, *;q=0.5", all, Zstd},
		{"star zero, named one", "*;q=0, gzip", all, Gzip},
		{"star zero", "*;q=0", all, Identity},
		{"not offered", "deflate, compress", all, Identity},
		{"nothing offered", "gzip", nil, Identity},
		{"offered but refused", "gzip;q=0", []Encoding{Gzip}, Identity},
		{"identity preferred", "identity;q=1, gzip;q=0.5", all, Identity},
		{"identity lower", "identity;q=0.1, gzip;q=0.5", all, Gzip},
		{"identity equal goes to coding", "identity, gzip", all, Gzip},
		{"spaces", "  gzip ;  q=0.3 ,\tbr ; q=0.4  ", all, Brotli},
		{"three decimals", "gzip;q=0.001, br;q=0.0001", all, Gzip},
		{"malformed q ignored", "br;q=abc, gzip;q=0.1", all, Gzip},
		{"q over one ignored", "br;q=1.5, gzip;q=0.1", all, Gzip},
		{"q=1.000", "br;q=1.000", all, Brotli},
		{"q=1.001 ignored", "br;q=1.001", all, Identity},
		{"other params ignored", "gzip;level=9;q=0.7", all, Gzip},
		{"empty elements", ",, ,gzip,,", all, Gzip},
		{"first occurrence counts", "gzip;q=0, gzip", all, Identity},
		{"unknown coding", "compress;q=1, zstd;q=0.1", all, Zstd},
		{"missing semicolon", "gzip q=0.5", all, Identity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Negotiate([]byte(tc.header), tc.offered); got != tc.want {
				t.Errorf("Negotiate(%q, %v) = %v; want %v", tc.header, tc.offered, got, tc.want)
			}
		})
	}
}

func TestParseEncoding(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Encoding
		err  string
	}{
		{"gzip", Gzip, ""}, {"BR", Brotli, ""}, {"zstd", Zstd, ""},
		{"identity", Identity, `unknown encoding "identity" (one of gzip, br, zstd)`},
		{"brotli", Identity, `unknown encoding "brotli"`},
	} {
		got, err := ParseEncoding(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseEncoding(%q) = %v, %v; want %v, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestTypeMatcher(t *testing.T) {
	m, err := NewTypeMatcher([]string{"text/*", "application/json", "application/*+json", "Image/SVG+XML"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ct   string
		want bool
	}{
		{"text/html", true},
		{"text/html; charset=utf-8", true},
		{"TEXT/Plain", true},
		{"application/json", true},
		{"application/json;charset=UTF-8", true},
		{" application/json ; charset=utf-8", true},
		{"application/problem+json", true},
		{"application/vnd.api+JSON; ext=x", true},
		{"image/svg+xml", true},
		{"application/jsonx", false},
		{"application/+json", false},
		{"image/png", false},
		{"application/octet-stream", false},
		{"", false},
		{"text", false},
		{"text/", false},
		{"/json", false},
	} {
		if got := m.Match([]byte(tc.ct)); got != tc.want {
			t.Errorf("Match(%q) = %v; want %v", tc.ct, got, tc.want)
		}
	}
	any, _ := NewTypeMatcher([]string{"*/*"})
	suffix, _ := NewTypeMatcher([]string{"*/*+json"})
	if !any.Match([]byte("image/png")) || !suffix.Match([]byte("text/x+json")) || suffix.Match([]byte("text/json")) {
		t.Error("*/* or */*+json wrong")
	}
	if def, err := NewTypeMatcher(DefaultTypes); err != nil || !def.Match([]byte("application/json")) || def.Match([]byte("image/png")) {
		t.Errorf("DefaultTypes: %v", err)
	}
}

func TestTypeMatcherErrors(t *testing.T) {
	for _, p := range []string{"json", "text/", "/json", "*/json", "text/ht*ml", "a/b/c", "text/html; charset=utf-8", "+json"} {
		if _, err := NewTypeMatcher([]string{p}); err == nil || !strings.Contains(err.Error(), `content type pattern "`+p+`"`) {
			t.Errorf("NewTypeMatcher(%q) error = %v; want one naming the pattern", p, err)
		}
	}
}

func decode(t testing.TB, e Encoding, b []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch e {
	case Gzip:
		r, err = gzip.NewReader(bytes.NewReader(b))
	case Brotli:
		r = brotli.NewReader(bytes.NewReader(b))
	case Zstd:
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(b))
		if d != nil {
			defer d.Close()
		}
		r = d
	}
	if err != nil {
		t.Fatalf("%v reader: %v", e, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%v decode: %v", e, err)
	}
	return out
}

func TestAppendRoundTrip(t *testing.T) {
	inputs := map[string][]byte{"empty": {}, "small": []byte(`{"a":1}`), "json": jsonSample(10 << 10), "html": htmlSample(100 << 10)}
	for _, tc := range []struct {
		e      Encoding
		levels []int
	}{
		{Gzip, []int{1, 5, 9}}, {Brotli, []int{0, 4, 11}}, {Zstd, []int{1, 3, 7, 22}},
	} {
		for _, level := range tc.levels {
			c, err := NewCompressor(tc.e, level)
			if err != nil {
				t.Fatal(err)
			}
			for name, in := range inputs {
				if level == 11 && len(in) > 20<<10 {
					continue // slow, and not a level for live traffic
				}
				prefix := []byte("kept:")
				out := c.Append(append([]byte(nil), prefix...), in)
				if !bytes.HasPrefix(out, prefix) {
					t.Fatalf("%v/%d %s: dst prefix lost", tc.e, level, name)
				}
				if got := decode(t, tc.e, out[len(prefix):]); !bytes.Equal(got, in) {
					t.Errorf("%v/%d %s: round trip gave %d bytes, want %d", tc.e, level, name, len(got), len(in))
				}
				if len(in) > 1000 && len(out)-len(prefix) > len(in)/2 {
					t.Errorf("%v/%d %s: %d -> %d bytes, compressed less than half", tc.e, level, name, len(in), len(out)-len(prefix))
				}
				back, err := AppendDecompressed(nil, out[len(prefix):], tc.e, len(in))
				if err != nil || !bytes.Equal(back, in) {
					t.Errorf("%v/%d %s: AppendDecompressed = %d bytes, %v", tc.e, level, name, len(back), err)
				}
			}
		}
	}
}

func TestNewCompressorLevels(t *testing.T) {
	for _, tc := range []struct {
		e     Encoding
		level int
		err   string
	}{
		{Gzip, 0, "gzip level must be between 1 and 9, got 0"},
		{Gzip, 10, "gzip level must be between 1 and 9, got 10"},
		{Brotli, 12, "br level must be between 0 and 11, got 12"},
		{Zstd, 0, "zstd level must be between 1 and 22, got 0"},
		{Identity, 1, "no compressor for identity"},
		{Brotli, 0, ""},
		{Zstd, 22, ""},
	} {
		_, err := NewCompressor(tc.e, tc.level)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("NewCompressor(%v, %d) error = %v; want %q", tc.e, tc.level, err, tc.err)
		}
	}
	for _, e := range []Encoding{Gzip, Brotli, Zstd} {
		if _, err := NewCompressor(e, DefaultLevel(e)); err != nil {
			t.Errorf("DefaultLevel(%v) refused: %v", e, err)
		}
	}
}

// TestWriterFlushEachWrite is the SSE case: after every Write the bytes
// that reached the destination decode to everything written so far.
func TestWriterFlushEachWrite(t *testing.T) {
	events := []string{"data: {\"n\":1}\n\n", "data: {\"n\":2}\n\n", ": keep-alive\n\n", "data: [DONE]\n\n"}
	for _, e := range []Encoding{Gzip, Brotli, Zstd} {
		t.Run(e.String(), func(t *testing.T) {
			c, _ := NewCompressor(e, DefaultLevel(e))
			var sink bytes.Buffer
			w := c.AcquireWriter(&sink, true)
			var want string
			for _, ev := range events {
				if _, err := w.Write([]byte(ev)); err != nil {
					t.Fatal(err)
				}
				want += ev
				got := decodePrefix(t, e, sink.Bytes(), len(want))
				if got != want {
					t.Fatalf("after %q the client can decode %q; want %q", ev, got, want)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			c.ReleaseWriter(w)
			if got := decode(t, e, sink.Bytes()); string(got) != want {
				t.Errorf("whole stream %q; want %q", got, want)
			}
		})
	}
}

// decodePrefix decodes n bytes from the start of an unfinished stream.
func decodePrefix(t *testing.T, e Encoding, b []byte, n int) string {
	t.Helper()
	var r io.Reader
	switch e {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return "gzip header: " + err.Error()
		}
		r = zr
	case Brotli:
		r = brotli.NewReader(bytes.NewReader(b))
	case Zstd:
		d, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		r = d
	}
	buf := make([]byte, n)
	k, err := io.ReadFull(r, buf)
	if err != nil {
		return string(buf[:k]) + " <" + err.Error() + ">"
	}
	return string(buf)
}

func TestWriterWithoutFlushAndReuse(t *testing.T) {
	in := htmlSample(50 << 10)
	for _, e := range []Encoding{Gzip, Brotli, Zstd} {
		c, _ := NewCompressor(e, DefaultLevel(e))
		for round := 0; round < 3; round++ { // pooled encoders come back clean
			var sink bytes.Buffer
			w := c.AcquireWriter(&sink, false)
			for i := 0; i < len(in); i += 4096 {
				w.Write(in[i:min(i+4096, len(in))])
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			c.ReleaseWriter(w)
			if got := decode(t, e, sink.Bytes()); !bytes.Equal(got, in) {
				t.Fatalf("%v round %d: %d bytes back, want %d", e, round, len(got), len(in))
			}
		}
		// An abandoned stream does not spoil the next one.
		w := c.AcquireWriter(io.Discard, false)
		w.Write(in[:1000])
		c.ReleaseWriter(w)
		if got := decode(t, e, c.Append(nil, in)); !bytes.Equal(got, in) {
			t.Fatalf("%v: after an abandoned stream the round trip fails", e)
		}
	}
}

func TestAppendDecompressedLimit(t *testing.T) {
	bomb := bytes.Repeat([]byte{'a'}, 1<<20)
	for _, e := range []Encoding{Identity, Gzip, Brotli, Zstd} {
		var z []byte
		if e == Identity {
			z = bomb
		} else {
			c, _ := NewCompressor(e, DefaultLevel(e))
			z = c.Append(nil, bomb)
		}
		out, err := AppendDecompressed(nil, z, e, 64<<10)
		if !errors.Is(err, ErrTooLarge) || len(out) > 64<<10+1 {
			t.Errorf("%v: %d compressed bytes, limit 64 KiB: got %d bytes, %v; want ErrTooLarge", e, len(z), len(out), err)
		}
		if out, err := AppendDecompressed(nil, z, e, 1<<20); err != nil || len(out) != 1<<20 {
			t.Errorf("%v: exact limit: %d bytes, %v", e, len(out), err)
		}
	}
	for _, e := range []Encoding{Gzip, Brotli, Zstd} {
		if _, err := AppendDecompressed(nil, []byte("not compressed at all"), e, 1<<20); err == nil {
			t.Errorf("%v: corrupt input decoded without error", e)
		}
	}
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	h := []byte("gzip;q=0.8, deflate, br;q=0.9, zstd;q=0.7, *;q=0.1")
	offered := DefaultPreference
	if n := testing.AllocsPerRun(100, func() { Negotiate(h, offered) }); n != 0 {
		t.Errorf("Negotiate: %v allocs; want 0", n)
	}
	m, _ := NewTypeMatcher(DefaultTypes)
	ct := []byte("application/vnd.api+json; charset=utf-8")
	if n := testing.AllocsPerRun(100, func() { m.Match(ct) }); n != 0 {
		t.Errorf("Match: %v allocs; want 0", n)
	}
	in := jsonSample(10 << 10)
	for _, e := range []Encoding{Gzip, Brotli, Zstd} {
		c, _ := NewCompressor(e, DefaultLevel(e))
		dst := make([]byte, 0, 64<<10)
		c.Append(dst, in) // warm the pool
		if n := testing.AllocsPerRun(50, func() { dst = c.Append(dst[:0], in) }); n != 0 {
			t.Errorf("%v Append: %v allocs; want 0", e, n)
		}
	}
}
