package tracecontext

import (
	"bytes"
	"testing"
)

// FuzzParseTraceparent checks that whatever a client sends, a traceparent
// is either refused or read as lowercase hex IDs that are not zero, and
// that what the gateway writes from it reads back the same.
func FuzzParseTraceparent(f *testing.F) {
	for _, s := range []string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		id, parent, flags, ok := ParseTraceparent(v)
		if !ok {
			if id != [16]byte{} || parent != [8]byte{} || flags != 0 {
				t.Fatalf("%q refused with values %x %x %x", v, id, parent, flags)
			}
			return
		}
		if id == [16]byte{} || parent == [8]byte{} {
			t.Fatalf("%q accepted with a zero ID", v)
		}
		if !bytes.Equal(v[3:52], bytes.ToLower(v[3:52])) {
			t.Fatalf("%q accepted with upper case", v)
		}
		tr := Trace{TraceID: id, SpanID: parent, Flags: flags & FlagSampled}
		out := tr.AppendTraceparent(nil)
		id2, parent2, flags2, ok2 := ParseTraceparent(out)
		if !ok2 || id2 != id || parent2 != parent || flags2 != flags&FlagSampled || len(out) != TraceparentLen {
			t.Fatalf("%q written as %q, read back as %x %x %x %v", v, out, id2, parent2, flags2, ok2)
		}
	})
}

// FuzzAppendTracestate checks that what the gateway forwards is within
// the limits, well-formed, and forwarded unchanged by the next gateway.
func FuzzAppendTracestate(f *testing.F) {
	for _, s := range []string{"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", " a= b , ,c=d", "a=1,a=2", "A=1", ""} {
		f.Add([]byte(s), []byte("x=1"))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		out, ok := AppendTracestate(nil, [][]byte{a, b})
		if len(out) > MaxTracestateLen {
			t.Fatalf("%d bytes, more than %d", len(out), MaxTracestateLen)
		}
		if !ok && len(out) > 0 {
			t.Fatalf("refused, but %q written", out)
		}
		if bytes.Count(out, []byte(",")) >= MaxMembers {
			t.Fatalf("more than %d members: %q", MaxMembers, out)
		}
		again, ok2 := AppendTracestate(nil, [][]byte{out})
		if !ok2 || !bytes.Equal(again, out) {
			t.Fatalf("%q forwarded again as %q, %v", out, again, ok2)
		}
	})
}
