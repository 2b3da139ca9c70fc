package aiproxy

import (
	"bytes"
	"errors"
	"io"

	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
	"github.com/moongate/moongate/plugins/aiproxy/sse"
	"github.com/moongate/moongate/plugins/aiproxy/translate"
	"github.com/moongate/moongate/plugins/aiproxy/usage"
)

// A streamed answer is the response's body stream: fasthttp writes it
// after the request's steps, through WriteTo, one chunk per event, each
// flushed to the client at once. WriteTo reads the provider's next event
// only once the previous one was written, so nothing is held back and
// nothing piles up; a client that goes away makes the next write fail,
// and Close then closes the provider connection, which cancels the
// provider's request.

// SupportsBodyWriteTo implements fasthttp.BodyWriterTo: WriteTo writes
// each event as its own chunk.
func (cl *call) SupportsBodyWriteTo() bool { return true }

// WriteTo implements io.WriterTo.
func (cl *call) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if len(cl.pending) > 0 {
		m, err := w.Write(cl.pending)
		n += int64(m)
		cl.pending = nil
		if err != nil {
			cl.clientGone = true
			return n, err
		}
	}
	for !cl.finished {
		out := cl.next()
		if len(out) == 0 {
			continue
		}
		m, err := w.Write(out)
		n += int64(m)
		if err != nil {
			cl.clientGone = true
			return n, err
		}
	}
	return n, nil
}

// Read implements io.Reader, for whoever reads the body stream itself.
func (cl *call) Read(p []byte) (int, error) {
	for len(cl.pending) == 0 {
		if cl.finished {
			return 0, io.EOF
		}
		cl.pending = cl.next()
	}
	n := copy(p, cl.pending)
	cl.pending = cl.pending[n:]
	return n, nil
}

// next returns what the client gets for the provider's next event
// (possibly nothing); it sets finished after the last. The bytes are
// valid until the next call.
func (cl *call) next() []byte {
	ev := cl.first
	cl.first = nil
	if ev == nil {
		var err error
		if ev, err = cl.rd.Next(); err != nil {
			return cl.keep(cl.end(err))
		}
	}
	if !ev.HasData {
		// Comments keep an idle connection alive: both APIs allow them.
		return cl.keep(ev.Raw)
	}
	switch cl.mode {
	case modePassOpenAI:
		if sse.IsDone(ev.Data) {
			cl.complete, cl.finished = true, true
			return cl.keep(ev.Raw)
		}
		if hasError(ev.Data) {
			// The provider's message, redacted, in the same shape.
			_, body := translate.ParseOpenAIError(500, ev.Data).OpenAI()
			cl.finished = true
			cl.out = sse.AppendData(cl.out[:0], body)
			return cl.keep(cl.out)
		}
		if cl.meter.OpenAI(ev.Data) && cl.dropUsage {
			return nil
		}
		return cl.keep(ev.Raw)
	case modePassAnthropic:
		switch string(ev.Type) {
		case "message_stop":
			cl.complete, cl.finished = true, true
		case "error":
			_, body := anthropicStreamError(ev.Data).Anthropic()
			cl.finished = true
			cl.out = sse.AppendEvent(cl.out[:0], "error", body)
			return cl.keep(cl.out)
		}
		cl.meter.Anthropic(ev.Data)
		return cl.keep(ev.Raw)
	case modeToOpenAI:
		failed := string(ev.Type) == "error"
		var err error
		cl.out, err = cl.toOpenAI.Event(cl.out[:0], ev.Type, ev.Data)
		if cl.toOpenAI.Done() {
			cl.finished = true
			cl.complete = err == nil && !failed
		}
		return cl.keep(cl.out)
	default: // modeToAnthropic
		failed := hasError(ev.Data)
		var err error
		cl.out, err = cl.toAnth.Event(cl.out[:0], ev.Type, ev.Data)
		if cl.toAnth.Done() {
			cl.finished = true
			cl.complete = err == nil && !failed
		}
		return cl.keep(cl.out)
	}
}

// hasError reports whether an OpenAI chunk is the provider's error
// ({"error": {...}}); the quick test spares chunks that cannot be one the
// parse.
func hasError(data []byte) bool {
	return bytes.Contains(data, []byte(`"error"`)) && rawjson.Get(data, "error") != nil
}

// keep notes what is written to the client, for the prompt cache.
func (cl *call) keep(b []byte) []byte {
	if cl.caching {
		if len(cl.cacheBuf)+len(b) > cl.p.cache.maxEntry {
			cl.caching = false
			cl.cacheBuf = cl.cacheBuf[:0]
		} else {
			cl.cacheBuf = append(cl.cacheBuf, b...)
		}
	}
	return b
}

// end is called when reading the provider's stream failed (io.EOF at its
// end): it returns the client's last events.
func (cl *call) end(err error) []byte {
	cl.finished = true
	switch cl.mode {
	case modeToOpenAI:
		var e error
		cl.out, e = cl.toOpenAI.End(cl.out[:0])
		cl.complete = e == nil
		return cl.out
	case modeToAnthropic:
		var e error
		cl.out, e = cl.toAnth.End(cl.out[:0])
		cl.complete = e == nil
		return cl.out
	}
	// A pass-through stream that stops before its end gets the client
	// API's stream error, so that the SDK raises instead of returning a
	// truncated answer as complete.
	msg := "the provider's stream ended before the answer was complete"
	if classify(err) == failTimeout && !errors.Is(err, io.EOF) {
		msg = "the provider stopped sending (idle timeout)"
	}
	if cl.mode == modePassAnthropic {
		cl.out = sse.AppendEvent(cl.out[:0], "error", translate.AnthropicError(502, msg))
	} else {
		cl.out = sse.AppendData(cl.out[:0], translate.OpenAIError(502, msg))
	}
	return cl.out
}

// maxDrain is how much of a provider's answer the gateway reads past the
// end of the client's answer, to end the provider's answer properly.
const maxDrain = 64 << 10

// drain reads the rest of the provider's answer once the client's answer
// is complete: what follows the client's last event (OpenAI's "data:
// [DONE]" after the usage chunk that completes an Anthropic client's
// answer, the chunked body's last chunk). Read to its end, the provider's
// answer is over and its connection goes back to the pool; closed before
// its end, the connection is closed, which cancels a request the provider
// was still answering and costs a new connection for the next one. Each
// read waits at most the provider's idle timeout; past maxDrain bytes
// (or as many reads), or on an error, Close closes the connection as
// before.
func (cl *call) drain() {
	body := cl.resp.BodyStream()
	if body == nil {
		return
	}
	buf := cl.out[:0]
	if cap(buf) < 4096 {
		buf = make([]byte, 0, 4096)
		cl.out = buf
	}
	buf = buf[:cap(buf)]
	for n, reads := 0, 0; n <= maxDrain && reads < maxDrain/512; reads++ {
		m, err := body.Read(buf)
		n += m
		if err != nil {
			return
		}
	}
}

// Close implements io.Closer: fasthttp calls it when the body is
// written, or abandoned. It closes the provider's answer (the connection
// itself when the answer was not read to its end, which cancels the
// provider's request), counts the usage, stores the answer in the prompt
// cache when it is complete, and releases the call.
func (cl *call) Close() error {
	if cl.closed {
		return nil
	}
	cl.closed = true
	if cl.complete && !cl.clientGone {
		cl.drain()
	}
	if cl.pc != nil {
		cl.pc.streaming.Store(false)
	}
	_ = cl.resp.CloseBodyStream()
	var t usage.Tokens
	var have bool
	switch cl.mode {
	case modeToOpenAI:
		t, have = cl.toOpenAI.Usage()
	case modeToAnthropic:
		t, have = cl.toAnth.Usage()
	default:
		t, have = cl.meter.Tokens()
	}
	c := cl.c
	if !cl.logHeld {
		cl.c = nil // the request's context may be gone
	}
	cl.account(t, have)
	if cl.caching && cl.complete && !cl.clientGone {
		cl.p.cache.put(cl.cacheKey, cachedStream, cl.cacheBuf)
	}
	held := cl.logHeld
	releaseCall(cl)
	if held {
		c.ReleaseLog()
	}
	return nil
}
