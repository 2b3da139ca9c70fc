package tracecontext

import (
	"strings"
	"testing"
)

func TestParseTraceparent(t *testing.T) {
	const (
		tid = "4bf92f3577b34da6a3ce929d0e0e4736"
		pid = "00f067aa0ba902b7"
	)
	for _, tc := range []struct {
		name, in string
		ok       bool
		flags    byte
	}{
		{"sampled", "00-" + tid + "-" + pid + "-01", true, 1},
		{"not sampled", "00-" + tid + "-" + pid + "-00", true, 0},
		{"other flags kept for the caller to mask", "00-" + tid + "-" + pid + "-09", true, 9},
		{"empty", "", false, 0},
		{"version ff", "ff-" + tid + "-" + pid + "-01", false, 0},
		{"version upper case", "0A-" + tid + "-" + pid + "-01", false, 0},
		{"version not hex", "0x-" + tid + "-" + pid + "-01", false, 0},
		{"version 00 with more", "00-" + tid + "-" + pid + "-01-xyz", false, 0},
		{"version 00 too short", "00-" + tid + "-" + pid + "-1", false, 0},
		{"higher version", "01-" + tid + "-" + pid + "-01", true, 1},
		{"higher version with more fields", "cc-" + tid + "-" + pid + "-01-what-ever", true, 1},
		{"higher version, no dash after flags", "cc-" + tid + "-" + pid + "-01what", false, 0},
		{"trace id upper case", "00-" + strings.ToUpper(tid) + "-" + pid + "-01", false, 0},
		{"parent id upper case", "00-" + tid + "-00F067AA0BA902B7-01", false, 0},
		{"flags upper case", "00-" + tid + "-" + pid + "-0A", false, 0},
		{"trace id all zeros", "00-00000000000000000000000000000000-" + pid + "-01", false, 0},
		{"parent id all zeros", "00-" + tid + "-0000000000000000-01", false, 0},
		{"trace id too short", "00-" + tid[:31] + "-" + pid + "-01x", false, 0},
		{"wrong separator", "00_" + tid + "-" + pid + "-01", false, 0},
		{"leading space", " 00-" + tid + "-" + pid + "-01", false, 0},
		{"trailing space", "00-" + tid + "-" + pid + "-01 ", false, 0},
		{"non-ASCII", "00-" + tid[:31] + "\xff-" + pid + "-01", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			traceID, parentID, flags, ok := ParseTraceparent([]byte(tc.in))
			if ok != tc.ok || flags != tc.flags {
				t.Fatalf("got ok=%v flags=%x, want ok=%v flags=%x", ok, flags, tc.ok, tc.flags)
			}
			if !ok {
				if traceID != [16]byte{} || parentID != [8]byte{} {
					t.Errorf("refused, but ids %x %x returned", traceID, parentID)
				}
				return
			}
			tr := Trace{TraceID: traceID, SpanID: parentID, Flags: flags & FlagSampled}
			got := string(tr.AppendTraceparent(nil))
			if want := "00-" + tid + "-" + pid + "-0" + string("01"[flags&1]); got != want {
				t.Errorf("written back as %q, want %q", got, want)
			}
		})
	}
}

func TestTrace(t *testing.T) {
	var zero Trace
	if zero.Valid() || zero.Sampled() || zero.HasParent() {
		t.Errorf("the zero Trace: valid %v, sampled %v, parent %v", zero.Valid(), zero.Sampled(), zero.HasParent())
	}
	tr := Trace{TraceID: NewTraceID(), SpanID: NewSpanID(), Flags: FlagSampled}
	if !tr.Valid() || !tr.Sampled() || tr.HasParent() {
		t.Errorf("a new trace: valid %v, sampled %v, parent %v", tr.Valid(), tr.Sampled(), tr.HasParent())
	}
	tp := tr.AppendTraceparent(nil)
	if len(tp) != TraceparentLen {
		t.Fatalf("traceparent %q is %d bytes, want %d", tp, len(tp), TraceparentLen)
	}
	id, span, flags, ok := ParseTraceparent(tp)
	if !ok || id != tr.TraceID || span != tr.SpanID || flags != 1 {
		t.Errorf("%q read back as %x %x %x %v", tp, id, span, flags, ok)
	}
	if NewTraceID() == NewTraceID() || NewSpanID() == NewSpanID() {
		t.Error("two new IDs are equal")
	}
}

func TestSampler(t *testing.T) {
	id := func(low uint64) (t [16]byte) {
		for i := 0; i < 8; i++ {
			t[15-i] = byte(low >> (8 * i))
		}
		return t
	}
	for _, tc := range []struct {
		ratio float64
		low   uint64
		want  bool
	}{
		{0, 0, false},
		{-1, 0, false},
		{1, ^uint64(0), true},
		{2, ^uint64(0), true},
		{0.5, 0, true},
		{0.5, 1<<63 - 2, true},  // read as (1<<62 - 1)
		{0.5, 1 << 63, false},   // read as 1<<62
		{0.25, 1<<62 - 2, true}, // read as 1<<61 - 1
		{0.25, 1 << 62, false},  // read as 1<<61
	} {
		s := NewSampler(tc.ratio)
		if got := s.Sample(id(tc.low)); got != tc.want {
			t.Errorf("ratio %v, low bits %x: sampled %v, want %v", tc.ratio, tc.low, got, tc.want)
		}
	}
	// Over random trace IDs, the share sampled is the ratio.
	s := NewSampler(0.1)
	n := 0
	for i := 0; i < 100000; i++ {
		if s.Sample(NewTraceID()) {
			n++
		}
	}
	if n < 9000 || n > 11000 {
		t.Errorf("ratio 0.1 sampled %d of 100000", n)
	}
	if r := NewSampler(0.1).Ratio(); r < 0.0999 || r > 0.1001 {
		t.Errorf("Ratio() = %v, want 0.1", r)
	}
}

func TestAppendTracestate(t *testing.T) {
	long := func(key string, n int) string { return key + "=" + strings.Repeat("v", n-len(key)-1) }
	many := func(n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, "k"+string(rune('a'+i/26))+string(rune('a'+i%26))+"=v")
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
		ok    bool
	}{
		{"one member", []string{"rojo=00f067aa0ba902b7"}, "rojo=00f067aa0ba902b7", true},
		{"two members", []string{"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", true},
		{"optional whitespace and empty members dropped", []string{" rojo=1 ,\t, congo=2\t"}, "rojo=1,congo=2", true},
		{"lines joined in order", []string{"rojo=1", "congo=2,", ",x=3"}, "rojo=1,congo=2,x=3", true},
		{"empty header", []string{""}, "", true},
		{"only commas", []string{" , ,"}, "", true},
		{"leading space of a value kept", []string{"a= b"}, "a= b", true},
		{"multi-tenant key", []string{"fw529a3039@dt=xyz,a*b/c_d-e=1"}, "fw529a3039@dt=xyz,a*b/c_d-e=1", true},
		{"key starting with a digit", []string{"1a=b"}, "1a=b", true},
		{"upper-case key", []string{"Rojo=1"}, "", false},
		{"key starting with '_'", []string{"_a=1"}, "", false},
		{"no '='", []string{"rojo"}, "", false},
		{"empty key", []string{"=1"}, "", false},
		{"empty value", []string{"a="}, "", false},
		{"'=' in value", []string{"a=b=c"}, "", false},
		{"control character in value", []string{"a=b\x01c"}, "", false},
		{"non-ASCII value", []string{"a=caf\xc3\xa9"}, "", false},
		{"duplicate key", []string{"a=1,b=2", "a=3"}, "", false},
		{"a malformed member drops the whole list", []string{"a=1,B=2,c=3"}, "", false},
		{"key of 256", []string{long("a", 256+1+1)}, long("a", 256+1+1), true},
		{"key too long", []string{strings.Repeat("a", 257) + "=1"}, "", false},
		{"value of 256", []string{"a=" + strings.Repeat("v", 256)}, "a=" + strings.Repeat("v", 256), true},
		{"value too long", []string{"a=" + strings.Repeat("v", 257)}, "", false},
		{"32 members kept", many(32), strings.Join(many(32), ","), true},
		{"the 33rd member dropped", many(34), strings.Join(many(32), ","), true},
		{"past 512 characters, long members go first, from the right",
			[]string{long("a", 200), "b=1", long("c", 200), long("d", 129), "e=2", long("f", 100)},
			strings.Join([]string{long("a", 200), "b=1", long("c", 200), "e=2", long("f", 100)}, ","), true},
		{"long members go from the right until the list fits",
			[]string{long("a", 200), "b=1", long("c", 200), long("d", 129), "e=2", long("f", 150)},
			strings.Join([]string{long("a", 200), "b=1", long("c", 200), "e=2"}, ","), true},
		{"then any member from the right",
			[]string{long("a", 128), long("b", 128), long("c", 128), long("d", 128), "e=1"},
			strings.Join([]string{long("a", 128), long("b", 128), long("c", 128)}, ","), true},
		{"512 characters kept",
			[]string{long("a", 128), long("b", 128), long("c", 128), long("d", 125)},
			strings.Join([]string{long("a", 128), long("b", 128), long("c", 128), long("d", 125)}, ","), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines [][]byte
			for _, l := range tc.lines {
				lines = append(lines, []byte(l))
			}
			got, ok := AppendTracestate([]byte("x:"), lines)
			if string(got) != "x:"+tc.want || ok != tc.ok {
				t.Errorf("got %q, %v; want %q, %v", got, ok, "x:"+tc.want, tc.ok)
			}
			if len(got)-2 > MaxTracestateLen {
				t.Errorf("%d characters, more than %d", len(got)-2, MaxTracestateLen)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	tp := []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	lines := [][]byte{[]byte("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"), []byte("a=1")}
	var buf [MaxTracestateLen]byte
	s := NewSampler(0.5)
	n := testing.AllocsPerRun(100, func() {
		id, _, _, _ := ParseTraceparent(tp)
		tr := Trace{TraceID: NewTraceID(), SpanID: NewSpanID()}
		if s.Sample(id) {
			tr.Flags = FlagSampled
		}
		tr.AppendTraceparent(buf[:0])
		AppendTracestate(buf[:0], lines)
	})
	if n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
