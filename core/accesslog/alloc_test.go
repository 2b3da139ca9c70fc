package accesslog

import (
	"io"
	"testing"
	"time"
)

// TestZeroAllocs guards the zero-allocation promise of every function the
// log phase calls per request.
func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	r := fullRecord()
	r.ClientIP = r.ClientIP.WithZone("eth0") // the slower path
	tpl, err := NewTemplate(`$remote_addr $time $time_iso8601 $time_local $msec "$request" $status $request_time $upstream_time $trace_id`, EscapeDefault)
	if err != nil {
		t.Fatal(err)
	}
	tplJSON, err := NewTemplate(`{"ip":"$client_ip","ua":"$user_agent","uri":"$request_uri"}`, EscapeJSON)
	if err != nil {
		t.Fatal(err)
	}
	local := fullRecord()
	local.Time = time.Now() // in time.Local
	buf := make([]byte, 0, 4096)
	query := []byte("page=2&api_key=s3cret&API%5FKEY=x")
	names := []string{"api_key", "jwt"}
	w := New(io.Discard, Options{BufferSize: 4096, MaxBuffered: 64 << 10})
	defer w.Close()
	line := AppendJSON(nil, r)
	for range 10000 { // every batch the writer may use is allocated now
		w.Write(line)
	}
	for name, fn := range map[string]func(){
		"AppendJSON":           func() { buf = AppendJSON(buf[:0], r) },
		"AppendCombined":       func() { buf = AppendCombined(buf[:0], r) },
		"Template.Append":      func() { buf = tpl.Append(buf[:0], r) },
		"Template.Append/json": func() { buf = tplJSON.Append(buf[:0], r) },
		"AppendRedactedQuery":  func() { buf = AppendRedactedQuery(buf[:0], query, names) },
		"Writer.Write":         func() { w.Write(line) },
	} {
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", name, n)
		}
	}
}
