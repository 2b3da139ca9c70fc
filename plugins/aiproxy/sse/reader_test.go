package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// got is a comparable copy of an Event.
type got struct {
	Type, Data, ID string
	Retry          int64
	HasData        bool
	Raw            string
}

func (g got) String() string {
	return fmt.Sprintf("{type=%q data=%q id=%q retry=%d hasData=%v raw=%q}", g.Type, g.Data, g.ID, g.Retry, g.HasData, g.Raw)
}

func copyEvent(ev *Event) got {
	return got{string(ev.Type), string(ev.Data), string(ev.ID), ev.Retry, ev.HasData, string(ev.Raw)}
}

// readAll reads every block from src with a small maximum buffer growth
// path exercised (the Reader starts at 4 KiB).
func readAll(t testing.TB, src io.Reader, max int) ([]got, error) {
	r := NewReader(src, max)
	var out []got
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, copyEvent(ev))
		if len(out) > 1<<16 {
			t.Fatal("too many events")
		}
	}
}

// reference parses a whole stream the way the WHATWG standard describes,
// line by line, with the Reader's one documented leniency (complete
// lines at the end of the stream still make a block). It is the oracle of
// the split and fuzz tests.
func reference(stream []byte) []got {
	stream = bytes.TrimPrefix(stream, []byte{0xEF, 0xBB, 0xBF})
	off := len(stream) // offsets below are relative to the BOM-less stream
	_ = off
	type line struct {
		text       []byte
		start, end int // end is after the line terminator
		terminated bool
	}
	var lines []line
	for i := 0; i < len(stream); {
		j := i
		for j < len(stream) && stream[j] != '\r' && stream[j] != '\n' {
			j++
		}
		if j == len(stream) {
			lines = append(lines, line{stream[i:j], i, j, false})
			break
		}
		end := j + 1
		if stream[j] == '\r' && end < len(stream) && stream[end] == '\n' {
			end++
		}
		lines = append(lines, line{stream[i:j], i, end, true})
		i = end
	}
	var out []got
	var cur *got
	var curStart int
	var dataLines []string
	dispatch := func(end int) {
		if cur == nil {
			return
		}
		if cur.HasData {
			cur.Data = strings.Join(dataLines, "\n")
		}
		cur.Raw = string(stream[curStart:end])
		out = append(out, *cur)
		cur, dataLines = nil, nil
	}
	lastEnd := 0
	for _, l := range lines {
		if !l.terminated {
			break // an unterminated last line is dropped
		}
		lastEnd = l.end
		if len(l.text) == 0 {
			dispatch(l.end)
			continue
		}
		if cur == nil {
			cur = &got{Retry: -1}
			curStart = l.start
		}
		if l.text[0] == ':' {
			continue
		}
		name, value := string(l.text), ""
		if c := bytes.IndexByte(l.text, ':'); c >= 0 {
			name, value = string(l.text[:c]), string(l.text[c+1:])
			value = strings.TrimPrefix(value, " ")
		}
		switch name {
		case "data":
			cur.HasData = true
			dataLines = append(dataLines, value)
		case "event":
			cur.Type = value
		case "id":
			if !strings.Contains(value, "\x00") {
				cur.ID = value
			}
		case "retry":
			if n, err := strconv.ParseInt(value, 10, 64); err == nil && value != "" && strings.Trim(value, "0123456789") == "" {
				cur.Retry = n
			}
		}
	}
	if cur != nil {
		// The Reader's leniency: complete lines before the end.
		dispatch(lastEnd)
	}
	return out
}

// Streams in the shapes providers send.
var samples = map[string]string{
	"openai": "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
		"data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Grüße, 世界 🌍\"}}]}\n\n" +
		"data: [DONE]\n\n",
	"anthropic": "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n" +
		"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"héllo ✓\"}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	"crlf":      "event: a\r\ndata: one\r\n\r\ndata: two\r\n\r\n",
	"cr":        "event: a\rdata: one\r\rdata: two\r\r",
	"mixed":     "data: a\r\n\ndata: b\n\r\ndata: c\r\r\ndata: d\n\n",
	"comments":  ": keep-alive\n\n: hi\ndata: x\n: between\ndata: y\n\n",
	"multiline": "data: line 1\ndata: line 2\ndata:\ndata:  two spaces\n\n",
	"fields":    "data\n\nevent\ndata:x\n\nid: 7\nretry: 1500\ndata: y\n\nid: a\x00b\nretry: 12x\ndata: z\n\nunknown: 1\ndata:no space\n\n",
	"bom":       "\xEF\xBB\xBFdata: after bom\n\n",
	"blank":     "\n\n\r\n\rdata: late\n\n\n\n",
	"tail":      "data: complete\n\ndata: no blank line\n",
	"cut":       "data: complete\n\ndata: cut in the mid",
	"crtail":    "data: cr at the end\r",
	"utf8":      "data: \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80 \xc3\xa9\n\n",
}

func TestReaderMatchesReference(t *testing.T) {
	for name, s := range samples {
		t.Run(name, func(t *testing.T) {
			want := reference([]byte(s))
			got, err := readAll(t, strings.NewReader(s), 0)
			if err != nil {
				t.Fatal(err)
			}
			assertEvents(t, got, want)
		})
	}
}

func assertEvents(t *testing.T, got, want []got) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("event %d:\ngot  %v\nwant %v", i, got[i], want[i])
		}
	}
}

// TestReaderExpectations pins what the reference itself must say for a
// few cases, so that the oracle cannot be wrong in the same way as the
// Reader.
func TestReaderExpectations(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []got
	}{
		{"lf", "event: e\ndata: d\n\n", []got{{Type: "e", Data: "d", Retry: -1, HasData: true, Raw: "event: e\ndata: d\n\n"}}},
		{"crlf split CR LF", "data: d\r\n\r\n", []got{{Data: "d", Retry: -1, HasData: true, Raw: "data: d\r\n\r\n"}}},
		{"lone cr", "data: d\r\r", []got{{Data: "d", Retry: -1, HasData: true, Raw: "data: d\r\r"}}},
		{"multi-line data", "data: a\ndata: b\n\n", []got{{Data: "a\nb", Retry: -1, HasData: true, Raw: "data: a\ndata: b\n\n"}}},
		{"one space only", "data:  x\n\n", []got{{Data: " x", Retry: -1, HasData: true, Raw: "data:  x\n\n"}}},
		{"comment only", ": ping\n\n", []got{{Retry: -1, Raw: ": ping\n\n"}}},
		{"empty data", "data\n\n", []got{{Retry: -1, HasData: true, Raw: "data\n\n"}}},
		{"id and retry", "id: 5\nretry: 300\ndata: x\n\n", []got{{Data: "x", ID: "5", Retry: 300, HasData: true, Raw: "id: 5\nretry: 300\ndata: x\n\n"}}},
		{"bad id and retry", "id: a\x00\nretry: 3s\ndata: x\n\n", []got{{Data: "x", Retry: -1, HasData: true, Raw: "id: a\x00\nretry: 3s\ndata: x\n\n"}}},
		{"bom", "\xEF\xBB\xBFdata: x\n\n", []got{{Data: "x", Retry: -1, HasData: true, Raw: "data: x\n\n"}}},
		{"unterminated last line dropped", "data: a\n\ndata: b", []got{{Data: "a", Retry: -1, HasData: true, Raw: "data: a\n\n"}}},
		{"complete lines at EOF kept", "data: [DONE]\n", []got{{Data: "[DONE]", Retry: -1, HasData: true, Raw: "data: [DONE]\n"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertEvents(t, reference([]byte(tc.in)), tc.want)
			got, err := readAll(t, strings.NewReader(tc.in), 0)
			if err != nil {
				t.Fatal(err)
			}
			assertEvents(t, got, tc.want)
		})
	}
}

// chunked returns the stream as reads cut at the given offsets.
type chunked struct {
	parts [][]byte
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	if len(c.parts[0]) == 0 {
		c.parts = c.parts[1:]
	}
	return n, nil
}

func cut(s []byte, at ...int) *chunked {
	c := &chunked{}
	prev := 0
	for _, a := range at {
		c.parts = append(c.parts, s[prev:a])
		prev = a
	}
	c.parts = append(c.parts, s[prev:])
	return c
}

// TestReaderSplitAtEveryByte feeds every sample in two reads cut at every
// offset, in three reads cut at every pair of offsets (for the short
// samples), and one byte per read: the events must be the same as from
// one read. Cuts land inside lines, inside UTF-8 characters and between
// the CR and LF of a CRLF.
func TestReaderSplitAtEveryByte(t *testing.T) {
	for name, s := range samples {
		t.Run(name, func(t *testing.T) {
			b := []byte(s)
			want := reference(b)
			for i := 0; i <= len(b); i++ {
				got, err := readAll(t, cut(b, i), 0)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("cut at %d:\ngot  %v\nwant %v", i, got, want)
				}
			}
			if len(b) <= 80 {
				for i := 0; i <= len(b); i++ {
					for j := i; j <= len(b); j++ {
						got, err := readAll(t, cut(b, i, j), 0)
						if err != nil {
							t.Fatal(err)
						}
						if fmt.Sprint(got) != fmt.Sprint(want) {
							t.Fatalf("cut at %d and %d:\ngot  %v\nwant %v", i, j, got, want)
						}
					}
				}
			}
			got, err := readAll(t, iotest.OneByteReader(bytes.NewReader(b)), 0)
			if err != nil {
				t.Fatal(err)
			}
			assertEvents(t, got, want)
			got, err = readAll(t, iotest.DataErrReader(iotest.HalfReader(bytes.NewReader(b))), 0)
			if err != nil {
				t.Fatal(err)
			}
			assertEvents(t, got, want)
		})
	}
}

// TestReaderGrowsAndLimits reads an event larger than the initial buffer,
// across many reads, and refuses one over the limit.
func TestReaderGrowsAndLimits(t *testing.T) {
	big := strings.Repeat("é", 20000) // 40000 bytes, 2-byte characters
	stream := "data: " + big + "\n\ndata: after\n\n"
	got, err := readAll(t, iotest.HalfReader(strings.NewReader(stream)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Data != big || got[1].Data != "after" {
		t.Fatalf("got %d events, first %d bytes", len(got), len(got[0].Data))
	}

	_, err = readAll(t, strings.NewReader(stream), 10000)
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("got %v, want ErrEventTooLarge", err)
	}
	// Many small events go through a small limit: the limit is per event.
	var many strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&many, "data: event %d\n\n", i)
	}
	got, err = readAll(t, strings.NewReader(many.String()), 64)
	if err != nil || len(got) != 5000 || got[4999].Data != "event 4999" {
		t.Fatalf("got %d events, err %v", len(got), err)
	}
}

// TestReaderSourceError passes the source's error on, after the events
// that were complete.
func TestReaderSourceError(t *testing.T) {
	boom := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	r := NewReader(src, 0)
	ev, err := r.Next()
	if err != nil || string(ev.Data) != "a" {
		t.Fatalf("got %v, %v", ev, err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("second call: got %v, want %v", err, boom)
	}
}

// TestReaderNoProgress stops a source that keeps returning nothing.
func TestReaderNoProgress(t *testing.T) {
	r := NewReader(zeroReader{}, 0)
	if _, err := r.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("got %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// TestReaderReset reuses a Reader for a second stream.
func TestReaderReset(t *testing.T) {
	r := NewReader(strings.NewReader("data: one\n\ndata: partial"), 0)
	if ev, err := r.Next(); err != nil || string(ev.Data) != "one" {
		t.Fatalf("got %v, %v", ev, err)
	}
	r.Reset(strings.NewReader("data: two\n\n"), 0)
	if ev, err := r.Next(); err != nil || string(ev.Data) != "two" {
		t.Fatalf("after Reset: got %v, %v", ev, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("got %v, want EOF", err)
	}
}

// FuzzReader compares the Reader with the reference parser on arbitrary
// streams cut into reads at arbitrary places.
func FuzzReader(f *testing.F) {
	for _, s := range samples {
		f.Add([]byte(s), uint64(0x9e3779b97f4a7c15))
	}
	f.Add([]byte("data: x\r"), uint64(1))
	f.Add([]byte("\xEF\xBB"), uint64(2))
	f.Add([]byte("\r\n\r\n\r"), uint64(3))
	f.Fuzz(func(t *testing.T, stream []byte, seed uint64) {
		want := reference(stream)
		// Cut where the seed's bits say.
		var at []int
		x := seed
		for i := 1; i < len(stream); i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			if x%5 == 0 {
				at = append(at, i)
			}
		}
		got, err := readAll(t, cut(stream, at...), 0)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("cuts %v:\ngot  %v\nwant %v", at, got, want)
		}
	})
}
