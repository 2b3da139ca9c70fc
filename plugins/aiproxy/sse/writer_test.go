package sse

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestAppendEvent(t *testing.T) {
	for _, tc := range []struct {
		name, typ, data, want string
	}{
		{"data only", "", `{"a":1}`, "data: {\"a\":1}\n\n"},
		{"typed", "message_start", `{}`, "event: message_start\ndata: {}\n\n"},
		{"multi-line", "", "a\nb\r\nc\rd", "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"empty", "", "", "data: \n\n"},
		{"leading space kept", "", " x", "data:  x\n\n"},
		{"type with line break", "a\nb", "x", "event: ab\ndata: x\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendEvent(nil, tc.typ, tc.data))
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			// What the writer writes, the reader reads back (line breaks
			// in data come back as LF).
			evs, err := readAll(t, strings.NewReader(got), 0)
			if err != nil || len(evs) != 1 {
				t.Fatalf("read back %v, %v", evs, err)
			}
			wantData := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(tc.data)
			wantType := strings.NewReplacer("\r", "", "\n", "").Replace(tc.typ)
			if evs[0].Data != wantData || evs[0].Type != wantType {
				t.Fatalf("read back type %q data %q, want %q %q", evs[0].Type, evs[0].Data, wantType, wantData)
			}
		})
	}
	if got := string(AppendDone(nil)); got != "data: [DONE]\n\n" {
		t.Fatalf("AppendDone: %q", got)
	}
	if got := string(AppendComment(nil, "keep\nalive")); got != ": keepalive\n\n" {
		t.Fatalf("AppendComment: %q", got)
	}
	if !IsDone([]byte(" [DONE] ")) || IsDone([]byte(`"[DONE]"`)) {
		t.Fatal("IsDone")
	}
}

// TestWriterFlushesEveryEvent checks that each event reaches the
// underlying connection when it is written, not when a buffer fills.
func TestWriterFlushesEveryEvent(t *testing.T) {
	var conn bytes.Buffer
	bw := bufio.NewWriterSize(&conn, 4096)
	w := NewWriter(bw)
	if err := w.WriteEvent([]byte("ping"), []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if got := conn.String(); got != "event: ping\ndata: {\"type\":\"ping\"}\n\n" {
		t.Fatalf("after one event the connection has %q", got)
	}
	if err := w.WriteDone(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(conn.String(), "data: [DONE]\n\n") {
		t.Fatalf("got %q", conn.String())
	}
}
