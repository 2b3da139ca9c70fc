package tracecontext

import "testing"

func BenchmarkParseTraceparent(b *testing.B) {
	tp := []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	b.ReportAllocs()
	for b.Loop() {
		ParseTraceparent(tp)
	}
}

// BenchmarkNewTrace makes what the gateway makes for a request without a
// traceparent: a trace ID, a span ID, a sampling decision, the header.
func BenchmarkNewTrace(b *testing.B) {
	var buf [TraceparentLen]byte
	s := NewSampler(0.5)
	b.ReportAllocs()
	for b.Loop() {
		t := Trace{TraceID: NewTraceID(), SpanID: NewSpanID()}
		if s.Sample(t.TraceID) {
			t.Flags = FlagSampled
		}
		t.AppendTraceparent(buf[:0])
	}
}

func BenchmarkAppendTracestate(b *testing.B) {
	lines := [][]byte{[]byte("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")}
	var buf [MaxTracestateLen]byte
	b.ReportAllocs()
	for b.Loop() {
		AppendTracestate(buf[:0], lines)
	}
}
