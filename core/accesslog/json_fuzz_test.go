package accesslog

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"
)

// FuzzAppendJSON: whatever bytes a client puts in the request, the line
// is one valid JSON object per encoding/json, and every string reads back
// as it was sent, invalid UTF-8 replaced by U+FFFD byte by byte.
func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte("/users/42"), []byte("curl/8.5.0"), "", int64(0))
	f.Add([]byte("\"\\\n\r\t\x00\x7f"), []byte("\xff\xfe\xed\xa0\x80"), "eth0", int64(-5))
	f.Add([]byte("é€😀\u2028\u2029"), []byte("a\xc3"), "\"\n", int64(1<<62))
	f.Fuzz(func(t *testing.T, a, b []byte, zone string, n int64) {
		r := &Record{
			Time:           time.Unix(n%(1<<40), n%1e9),
			ClientIP:       netip.MustParseAddr("fe80::1").WithZone(zone),
			RequestID:      a,
			Method:         b,
			Path:           a,
			Query:          b,
			Protocol:       a,
			Status:         int(n % 1000),
			BytesSent:      n,
			BytesReceived:  -n,
			RequestTime:    time.Duration(n),
			Upstream:       b,
			UpstreamTarget: a,
			UpstreamStatus: int(n),
			UpstreamTime:   time.Duration(-n),
			Retries:        int(n),
			Route:          b,
			Consumer:       a,
			CacheStatus:    b,
			UserAgent:      a,
			Referer:        b,
			Traceparent:    a,
		}
		line := AppendJSON(nil, r)
		if bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("not exactly one line: %q", line)
		}
		var got map[string]any
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("invalid JSON: %v\n%q", err, line)
		}
		wantA, wantB := normalize(a), normalize(b)
		for k, want := range map[string]string{
			"request_id": wantA, "method": wantB, "path": wantA, "query": wantB,
			"protocol": wantA, "upstream": wantB, "upstream_target": wantA,
			"route": wantB, "consumer": wantA, "cache_status": wantB,
			"user_agent": wantA, "referer": wantB, "traceparent": wantA,
		} {
			v, ok := got[k]
			if want == "" {
				if ok {
					t.Errorf("%s: absent value written as %q", k, v)
				}
				continue
			}
			if v != want {
				t.Errorf("%s: got %q, want %q", k, v, want)
			}
		}
		if zone != "" {
			if want := "fe80::1%" + normalize([]byte(zone)); got["client_ip"] != want {
				t.Errorf("client_ip: got %q, want %q", got["client_ip"], want)
			}
		}
		for _, k := range []string{"status", "bytes_sent", "bytes_received", "request_time"} {
			if _, ok := got[k].(float64); !ok {
				t.Errorf("%s: not a number: %v", k, got[k])
			}
		}
	})
}

// normalize is how a string reads back from JSON: each byte of invalid
// UTF-8 becomes U+FFFD.
func normalize(b []byte) string { return string([]rune(string(b))) }
