package sse

import (
	"bytes"
	"errors"
	"io"
)

// DefaultMaxEventSize is the largest event a Reader accepts unless told
// otherwise: 4 MiB, well above any chunk a provider sends (a tool call's
// arguments or a base64 image come in many small deltas).
const DefaultMaxEventSize = 4 << 20

const minBuffer = 4096

// ErrEventTooLarge is returned by Reader.Next when an event does not fit
// in the maximum event size.
var ErrEventTooLarge = errors.New("sse: event too large")

// Event is one block of lines of an event stream, ended by a blank line.
// Its byte slices point into the Reader's buffer and are valid only until
// the next call to Next or Reset.
type Event struct {
	// Type is the value of the "event" field; empty means the default
	// type, "message".
	Type []byte
	// Data is the value of the "data" field; several data lines are
	// joined with LF.
	Data []byte
	// ID is the value of the "id" field, when there was one without NUL.
	ID []byte
	// Retry is the value of the "retry" field in milliseconds, -1 when
	// there was none (or it was not all digits).
	Retry int64
	// HasData reports whether the block had at least one data line. The
	// standard dispatches only such blocks as events; a block of comments
	// (": keep-alive") or of other fields has HasData false. Translators
	// skip those; a pass-through may forward them to keep the client's
	// connection alive.
	HasData bool
	// Raw is the block exactly as it was on the wire, from its first line
	// to the end of the blank line that ended it.
	Raw []byte
}

// Reader reads events from a stream. It is not safe for concurrent use;
// reuse a Reader for another stream with Reset.
type Reader struct {
	src     io.Reader
	buf     []byte
	r, w    int // the pending block starts at buf[r]; bytes end at buf[w]
	scan    int // the next byte to look at for a line end
	lineBeg int // start of the line that contains scan
	max     int
	data    []byte // joined data of multi-line events
	ev      Event
	bom     bool // the byte order mark check is done
	eof     bool
	empty   int // reads in a row that returned nothing
	err     error
}

// NewReader returns a Reader of src that accepts events up to max bytes
// (DefaultMaxEventSize when max <= 0).
func NewReader(src io.Reader, max int) *Reader {
	r := &Reader{}
	r.Reset(src, max)
	return r
}

// Reset makes r read from src, keeping its buffers.
func (r *Reader) Reset(src io.Reader, max int) {
	if max <= 0 {
		max = DefaultMaxEventSize
	}
	buf, data := r.buf, r.data[:0]
	if cap(buf) == 0 {
		buf = make([]byte, minBuffer)
	}
	*r = Reader{src: src, buf: buf[:cap(buf)], data: data, max: max}
}

// Next returns the next block of the stream. It returns io.EOF at the end
// of the stream, any other error of the source, or ErrEventTooLarge; after
// an error every call returns the same error.
//
// At the end of the stream a last block whose lines are complete but which
// lacks the closing blank line is still returned (some servers end that
// way); an unterminated last line is dropped, as the standard says.
func (r *Reader) Next() (*Event, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		if !r.bom {
			if r.w-r.r < 3 && !r.eof {
				if err := r.fill(); err != nil {
					return nil, r.fail(err)
				}
				continue
			}
			if bytes.HasPrefix(r.buf[r.r:r.w], bom) {
				r.r += len(bom)
				r.scan, r.lineBeg = r.r, r.r
			}
			r.bom = true
		}
		if start, linesEnd, ok := r.findEnd(); ok {
			r.parse(start, linesEnd, r.r)
			return &r.ev, nil
		}
		if r.eof {
			if r.lineBeg > r.r {
				// Complete lines without the closing blank line.
				start, end := r.r, r.lineBeg
				r.r, r.scan = end, r.w
				r.parse(start, end, end)
				return &r.ev, nil
			}
			return nil, r.fail(io.EOF)
		}
		if err := r.fill(); err != nil {
			return nil, r.fail(err)
		}
	}
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func (r *Reader) fail(err error) error {
	r.err = err
	r.ev = Event{}
	return err
}

// findEnd scans for the blank line that ends the pending block. On success
// it consumes the block and returns where its lines start and end.
func (r *Reader) findEnd() (start, linesEnd int, ok bool) {
	buf := r.buf[:r.w]
	for r.scan < r.w {
		rest := buf[r.scan:]
		n := bytes.IndexByte(rest, '\n')
		seg := rest
		if n >= 0 {
			seg = rest[:n]
		}
		if c := bytes.IndexByte(seg, '\r'); c >= 0 {
			n = c
		}
		if n < 0 {
			r.scan = r.w
			return 0, 0, false
		}
		term := r.scan + n
		next := term + 1
		if buf[term] == '\r' {
			if next == r.w && !r.eof {
				// This CR may be the first half of a CRLF whose LF is
				// still on the way: decide when the next byte is here.
				r.scan = term
				return 0, 0, false
			}
			if next < r.w && buf[next] == '\n' {
				next++
			}
		}
		lineStart := r.lineBeg
		r.scan, r.lineBeg = next, next
		if term != lineStart {
			continue
		}
		if lineStart == r.r {
			// Blank lines before a block dispatch nothing.
			r.r = next
			continue
		}
		start = r.r
		r.r = next
		return start, lineStart, true
	}
	return 0, 0, false
}

// fill reads more bytes, making room first.
func (r *Reader) fill() error {
	if r.r > 0 && (r.r == r.w || len(r.buf)-r.w < len(r.buf)/2) {
		n := copy(r.buf, r.buf[r.r:r.w])
		d := r.r
		r.r, r.w = 0, n
		r.scan -= d
		r.lineBeg -= d
	}
	if r.w == len(r.buf) {
		limit := r.max + 8 // room for the terminating blank line
		if len(r.buf) >= limit {
			return ErrEventTooLarge
		}
		size := min(2*len(r.buf), limit)
		nb := make([]byte, size)
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
	n, err := r.src.Read(r.buf[r.w:])
	r.w += n
	if n > 0 {
		r.empty = 0
	}
	switch {
	case err == io.EOF:
		r.eof = true
		return nil
	case err != nil:
		return err
	case n == 0:
		if r.empty++; r.empty >= 100 {
			return io.ErrNoProgress
		}
	}
	return nil
}

// parse fills r.ev from the lines in buf[start:linesEnd]; the block's raw
// bytes end at rawEnd.
func (r *Reader) parse(start, linesEnd, rawEnd int) {
	ev := &r.ev
	*ev = Event{Retry: -1, Raw: r.buf[start:rawEnd]}
	joined := false
	for lines := r.buf[start:linesEnd]; len(lines) > 0; {
		var line []byte
		line, lines = cutLine(lines)
		if len(line) == 0 || line[0] == ':' {
			continue // a comment
		}
		name, value := line, line[len(line):]
		if c := bytes.IndexByte(line, ':'); c >= 0 {
			name, value = line[:c], line[c+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(name) {
		case "data":
			switch {
			case !ev.HasData:
				ev.Data, ev.HasData = value, true
			case !joined:
				r.data = append(r.data[:0], ev.Data...)
				joined = true
				fallthrough
			default:
				r.data = append(r.data, '\n')
				r.data = append(r.data, value...)
				ev.Data = r.data
			}
		case "event":
			ev.Type = value
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				ev.ID = value
			}
		case "retry":
			if n, ok := digits(value); ok {
				ev.Retry = n
			}
		}
	}
}

// cutLine splits off the first line of b, whose line ends are complete.
func cutLine(b []byte) (line, rest []byte) {
	n := bytes.IndexByte(b, '\n')
	seg := b
	if n >= 0 {
		seg = b[:n]
	}
	if c := bytes.IndexByte(seg, '\r'); c >= 0 {
		if c+1 < len(b) && b[c+1] == '\n' {
			return b[:c], b[c+2:]
		}
		return b[:c], b[c+1:]
	}
	if n < 0 {
		return b, nil
	}
	return b[:n], b[n+1:]
}

// digits parses a retry value: ASCII digits only, saturating.
func digits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < (1<<62)/10 {
			n = n*10 + int64(c-'0')
		}
	}
	return n, true
}
