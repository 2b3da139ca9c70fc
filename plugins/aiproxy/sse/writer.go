package sse

import (
	"bytes"
	"io"
)

// Done is the data of the event that ends an OpenAI stream.
var Done = []byte("[DONE]")

// AppendEvent appends one event to dst: an "event" line when typ is not
// empty, then data as one "data" line per line of data (so data may hold
// line breaks of any kind), then the blank line that dispatches it. CR and
// LF in typ are dropped.
func AppendEvent[T, D ~string | ~[]byte](dst []byte, typ T, data D) []byte {
	if len(typ) > 0 {
		dst = append(dst, "event: "...)
		for i := 0; i < len(typ); i++ {
			if c := typ[i]; c != '\r' && c != '\n' {
				dst = append(dst, c)
			}
		}
		dst = append(dst, '\n')
	}
	start := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c != '\r' && c != '\n' {
			continue
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[start:i]...)
		dst = append(dst, '\n')
		if c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		start = i + 1
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data[start:]...)
	return append(dst, '\n', '\n')
}

// AppendData appends an event of the default type: "data: ...\n\n".
func AppendData[D ~string | ~[]byte](dst []byte, data D) []byte {
	return AppendEvent(dst, "", data)
}

// AppendDone appends "data: [DONE]\n\n", the end of an OpenAI stream.
func AppendDone(dst []byte) []byte { return append(dst, "data: [DONE]\n\n"...) }

// AppendComment appends a comment block (": text\n\n"), which clients
// ignore; it keeps an idle connection alive. Line breaks in text are
// dropped.
func AppendComment[T ~string | ~[]byte](dst []byte, text T) []byte {
	dst = append(dst, ':', ' ')
	for i := 0; i < len(text); i++ {
		if c := text[i]; c != '\r' && c != '\n' {
			dst = append(dst, c)
		}
	}
	return append(dst, '\n', '\n')
}

// IsDone reports whether data is OpenAI's end-of-stream marker "[DONE]"
// (surrounding spaces allowed).
func IsDone(data []byte) bool { return bytes.Equal(bytes.TrimSpace(data), Done) }

// Flusher is implemented by writers that can push buffered bytes to the
// network, such as *bufio.Writer and http.ResponseController-backed
// writers.
type Flusher interface{ Flush() error }

// Writer writes events to an io.Writer, flushing after each event when the
// writer is a Flusher, so every event reaches the client when it is
// written. It is not safe for concurrent use.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Reset makes sw write to w, keeping its buffer.
func (sw *Writer) Reset(w io.Writer) { sw.w, sw.buf = w, sw.buf[:0] }

// WriteEvent writes one event (see AppendEvent) and flushes.
func (sw *Writer) WriteEvent(typ, data []byte) error {
	sw.buf = AppendEvent(sw.buf[:0], typ, data)
	return sw.WriteRaw(sw.buf)
}

// WriteDone writes the OpenAI end-of-stream event and flushes.
func (sw *Writer) WriteDone() error {
	sw.buf = AppendDone(sw.buf[:0])
	return sw.WriteRaw(sw.buf)
}

// WriteRaw writes p, which holds whole events (an Event's Raw, or the
// output of a translator), and flushes.
func (sw *Writer) WriteRaw(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if _, err := sw.w.Write(p); err != nil {
		return err
	}
	if f, ok := sw.w.(Flusher); ok {
		return f.Flush()
	}
	return nil
}
