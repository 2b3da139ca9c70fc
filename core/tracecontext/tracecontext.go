package tracecontext

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// Trace is the W3C trace context of one request as the gateway forwards
// it. The zero Trace is "no trace" (tracing is off).
type Trace struct {
	// TraceID is the trace's 16-byte identifier: the caller's, or a new
	// one when the request came without a valid traceparent.
	TraceID [16]byte
	// SpanID is the gateway's span: the parent-id of the traceparent sent
	// upstream, and the span ID of the opentelemetry plugin's server span.
	SpanID [8]byte
	// ParentID is the caller's span (the parent-id it sent); zero when
	// the gateway started the trace.
	ParentID [8]byte
	// Flags are the trace-flags sent upstream: FlagSampled or 0 (the other
	// bits are reserved, and sent as zero).
	Flags byte
}

// FlagSampled is the sampled bit of trace-flags: the caller may have
// recorded the trace, and the gateway records its span (when a tracing
// plugin is configured).
const FlagSampled byte = 0x01

// TraceparentLen is the length of a version 00 traceparent:
// "00-" 32 hex "-" 16 hex "-" 2 hex.
const TraceparentLen = 55

// Valid reports whether t holds a trace (a non-zero trace ID).
func (t *Trace) Valid() bool { return t.TraceID != [16]byte{} }

// Sampled reports whether the sampled flag is set.
func (t *Trace) Sampled() bool { return t.Flags&FlagSampled != 0 }

// HasParent reports whether the trace came from the caller, whose span
// (ParentID) is then the parent of the gateway's.
func (t *Trace) HasParent() bool { return t.ParentID != [8]byte{} }

// AppendTraceparent appends the traceparent the gateway sends upstream:
// version 00, t's trace ID, the gateway's span ID as parent-id, and its
// flags, TraceparentLen bytes in lowercase hex.
func (t *Trace) AppendTraceparent(dst []byte) []byte {
	dst = append(dst, "00-"...)
	dst = appendHex(dst, t.TraceID[:])
	dst = append(dst, '-')
	dst = appendHex(dst, t.SpanID[:])
	dst = append(dst, '-')
	return append(dst, hexDigits[t.Flags>>4], hexDigits[t.Flags&0xf])
}

const hexDigits = "0123456789abcdef"

func appendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}

// unhex decodes lowercase hex digits into dst (len(src) == 2*len(dst)),
// reporting false for anything else, upper-case digits included.
func unhex(dst, src []byte) bool {
	for i := range dst {
		hi, ok1 := lowerHex(src[2*i])
		lo, ok2 := lowerHex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// ParseTraceparent reads a received traceparent and returns its
// trace-id, parent-id and trace-flags, or ok = false when the
// specification says to ignore it (the gateway then starts a new trace):
//
//   - version 00: exactly TraceparentLen bytes;
//   - a higher version (not ff, which is forbidden): at least
//     TraceparentLen bytes, the first four fields in version 00's format,
//     then nothing or a '-' (the rest is not read);
//   - every field lowercase hex, with '-' between them;
//   - trace-id and parent-id not all zeros.
//
// The value is taken as received: surrounding whitespace makes it
// invalid (fasthttp has already trimmed the header's own).
func ParseTraceparent(v []byte) (traceID [16]byte, parentID [8]byte, flags byte, ok bool) {
	if len(v) < TraceparentLen || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return traceID, parentID, 0, false
	}
	var version [1]byte
	if !unhex(version[:], v[:2]) || version[0] == 0xff {
		return traceID, parentID, 0, false
	}
	if version[0] == 0 && len(v) != TraceparentLen || version[0] != 0 && len(v) > TraceparentLen && v[TraceparentLen] != '-' {
		return traceID, parentID, 0, false
	}
	var f [1]byte
	if !unhex(traceID[:], v[3:35]) || !unhex(parentID[:], v[36:52]) || !unhex(f[:], v[53:55]) {
		return [16]byte{}, [8]byte{}, 0, false
	}
	if traceID == [16]byte{} || parentID == [8]byte{} {
		return [16]byte{}, [8]byte{}, 0, false
	}
	return traceID, parentID, f[0], true
}

// NewTraceID returns a random, non-zero trace ID. Its randomness comes
// from the runtime's generator (ChaCha8, seeded by the system): fast,
// safe for concurrent use, not guessable from earlier IDs.
func NewTraceID() (id [16]byte) {
	for id == [16]byte{} {
		binary.BigEndian.PutUint64(id[:8], rand.Uint64())
		binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

// NewSpanID returns a random, non-zero span ID (see NewTraceID).
func NewSpanID() (id [8]byte) {
	for id == [8]byte{} {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}

// Sampler decides whether a trace the gateway starts is sampled, from its
// trace ID, so that every node with the same ratio decides the same way
// for the same trace (as OpenTelemetry's TraceIDRatioBased sampler does:
// the last 8 bytes of the trace ID, read as a number, against the ratio).
// The zero Sampler samples nothing.
type Sampler struct {
	bound uint64 // sampled when the 63 low bits read are below it
	all   bool
}

// NewSampler returns a Sampler keeping ratio of the traces: 0 none, 1
// all; a ratio outside [0, 1] (or NaN) is clamped into it.
func NewSampler(ratio float64) Sampler {
	switch {
	case ratio >= 1:
		return Sampler{all: true}
	case !(ratio > 0):
		return Sampler{}
	}
	return Sampler{bound: uint64(ratio * (1 << 63))}
}

// Sample reports whether the trace with this ID is sampled.
func (s Sampler) Sample(traceID [16]byte) bool {
	return s.all || binary.BigEndian.Uint64(traceID[8:])>>1 < s.bound
}

// Ratio returns the share of traces s samples.
func (s Sampler) Ratio() float64 {
	if s.all {
		return 1
	}
	return math.Ldexp(float64(s.bound), -63)
}
