package accesslog

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

var testTime = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

// fullRecord is a proxied request with every field present.
func fullRecord() *Record {
	return &Record{
		Time:           testTime,
		RequestID:      []byte("7f3c9a"),
		ClientIP:       netip.MustParseAddr("203.0.113.7"),
		Method:         []byte("GET"),
		Path:           []byte("/users/42"),
		Query:          []byte("page=2&api_key=[redacted]"),
		Protocol:       []byte("HTTP/1.1"),
		Status:         200,
		BytesSent:      512,
		BytesReceived:  64,
		RequestTime:    1234567 * time.Nanosecond,
		Upstream:       []byte("users"),
		UpstreamTarget: []byte("10.0.0.5:8080"),
		UpstreamStatus: 200,
		UpstreamTime:   987654 * time.Nanosecond,
		Retries:        1,
		Route:          []byte("users"),
		Consumer:       []byte("alice"),
		CacheStatus:    []byte("MISS"),
		UserAgent:      []byte("curl/8.5.0"),
		Referer:        []byte("https://example.com/"),
		Traceparent:    []byte(traceparent),
	}
}

// stepRecord is a request a step answered itself (no upstream, no client
// address known).
func stepRecord() *Record {
	return &Record{
		Time:        testTime,
		Method:      []byte("POST"),
		Path:        []byte("/login"),
		Protocol:    []byte("HTTP/1.1"),
		Status:      401,
		BytesSent:   23,
		RequestTime: 42 * time.Microsecond,
		Route:       []byte("auth"),
	}
}

func TestAppendJSONGolden(t *testing.T) {
	tests := []struct {
		name string
		r    *Record
		want string
	}{
		{"proxied", fullRecord(), `{"time":"2024-05-01T12:00:00.123Z","request_id":"7f3c9a","client_ip":"203.0.113.7","method":"GET","path":"/users/42","query":"page=2&api_key=[redacted]","protocol":"HTTP/1.1","status":200,"bytes_sent":512,"bytes_received":64,"request_time":0.001234,"upstream":"users","upstream_target":"10.0.0.5:8080","upstream_status":200,"upstream_time":0.000987,"retries":1,"route":"users","consumer":"alice","cache_status":"MISS","user_agent":"curl/8.5.0","referer":"https://example.com/","traceparent":"` + traceparent + `"}` + "\n"},
		{"answered by a step", stepRecord(), `{"time":"2024-05-01T12:00:00.123Z","method":"POST","path":"/login","protocol":"HTTP/1.1","status":401,"bytes_sent":23,"bytes_received":0,"request_time":0.000042,"route":"auth"}` + "\n"},
		{"zero", &Record{}, `{"time":"0001-01-01T00:00:00.000Z","status":0,"bytes_sent":0,"bytes_received":0,"request_time":0.000000}` + "\n"},
		{"upstream gave no status", &Record{Time: testTime, Status: 502, UpstreamTarget: []byte("10.0.0.5:8080"), UpstreamTime: 3 * time.Second, Retries: 2},
			`{"time":"2024-05-01T12:00:00.123Z","status":502,"bytes_sent":0,"bytes_received":0,"request_time":0.000000,"upstream_target":"10.0.0.5:8080","upstream_time":3.000000,"retries":2}` + "\n"},
		{"ipv6 client, local time", &Record{Time: testTime.In(time.FixedZone("X", -(3*3600 + 30*60))), ClientIP: netip.MustParseAddr("2001:db8::1"), RequestTime: -time.Second},
			`{"time":"2024-05-01T08:30:00.123-03:30","client_ip":"2001:db8::1","status":0,"bytes_sent":0,"bytes_received":0,"request_time":0.000000}` + "\n"},
		{"ipv4-mapped client", &Record{Time: testTime, ClientIP: netip.MustParseAddr("::ffff:192.0.2.1")},
			`{"time":"2024-05-01T12:00:00.123Z","client_ip":"192.0.2.1","status":0,"bytes_sent":0,"bytes_received":0,"request_time":0.000000}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendJSON([]byte("prefix "), tc.r))
			if got != "prefix "+tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, "prefix "+tc.want)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(tc.want), &m); err != nil {
				t.Errorf("not valid JSON: %v", err)
			}
		})
	}
}

func TestAppendCombinedGolden(t *testing.T) {
	tests := []struct {
		name string
		r    *Record
		want string
	}{
		{"proxied", fullRecord(), `203.0.113.7 - alice [01/May/2024:12:00:00 +0000] "GET /users/42?page=2&api_key=[redacted] HTTP/1.1" 200 512 "https://example.com/" "curl/8.5.0"`},
		{"answered by a step", stepRecord(), `- - - [01/May/2024:12:00:00 +0000] "POST /login HTTP/1.1" 401 23 "-" "-"`},
		{"zero", &Record{Time: testTime}, `- - - [01/May/2024:12:00:00 +0000] "-" 000 0 "-" "-"`},
		{"local time", &Record{Time: testTime.In(time.FixedZone("CEST", 2*3600)), ClientIP: netip.MustParseAddr("2001:db8::1"), Method: []byte("GET"), Path: []byte("/")},
			`2001:db8::1 - - [01/May/2024:14:00:00 +0200] "GET /" 000 0 "-" "-"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendCombined(nil, tc.r))
			if got != tc.want+"\n" {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestTemplateGolden(t *testing.T) {
	tests := []struct {
		name, text string
		esc        Escaping
		r          *Record
		want       string
	}{
		{"issue example", "$time_iso8601 $request_id $status $request_time", EscapeDefault, fullRecord(),
			"2024-05-01T12:00:00+00:00 7f3c9a 200 0.001234"},
		{"combined, rebuilt", `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`, EscapeDefault, fullRecord(),
			strings.TrimSuffix(string(AppendCombined(nil, fullRecord())), "\n")},
		{"every variable", "$time|$time_iso8601|$time_local|$msec|$request_id|$client_ip|$method|$path|$query|$request_uri|$request|$protocol|$status|$bytes_sent|$bytes_received|$request_time|$upstream|$upstream_target|$upstream_status|$upstream_time|$retries|$route|$consumer|$cache_status|$user_agent|$referer|$traceparent|$trace_id", EscapeDefault, fullRecord(),
			"2024-05-01T12:00:00.123Z|2024-05-01T12:00:00+00:00|01/May/2024:12:00:00 +0000|1714564800.123|7f3c9a|203.0.113.7|GET|/users/42|page=2&api_key=[redacted]|/users/42?page=2&api_key=[redacted]|GET /users/42?page=2&api_key=[redacted] HTTP/1.1|HTTP/1.1|200|512|64|0.001234|users|10.0.0.5:8080|200|0.000987|1|users|alice|MISS|curl/8.5.0|https://example.com/|" + traceparent + "|4bf92f3577b34da6a3ce929d0e0e4736"},
		{"absent, default", "$request_id $client_ip $request_uri $request $upstream $upstream_target $upstream_status $upstream_time $retries $consumer $cache_status $trace_id", EscapeDefault, &Record{},
			"- - - - - - - - - - - -"},
		{"absent, json", `{"id":"$request_id","ip":"$client_ip","us":"$upstream_status","r":"$retries"}`, EscapeJSON, &Record{},
			`{"id":"","ip":"","us":"","r":""}`},
		{"braces and dollars", "${status}xx $$status ${route}_$route", EscapeDefault, fullRecord(),
			"200xx $status users_users"},
		{"escaping, default", `"$user_agent" $path`, EscapeDefault, &Record{UserAgent: []byte("a\"b\\c\nd\x7fé"), Path: []byte("/p q")},
			`"a\x22b\x5Cc\x0Ad\x7F\xC3\xA9" /p q`},
		{"escaping, json", `{"ua":"$user_agent"}`, EscapeJSON, &Record{UserAgent: []byte("a\"b\\c\nd\xffé")},
			`{"ua":"a\"b\\c\nd\ufffdé"}`},
		{"malformed traceparent", "$trace_id", EscapeDefault, &Record{Traceparent: []byte("00-XYZ")}, "-"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := NewTemplate(tc.text, tc.esc)
			if err != nil {
				t.Fatal(err)
			}
			got := string(tpl.Append(nil, tc.r))
			if got != tc.want+"\n" {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestNewTemplateErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"$time $reqest_time", `unknown variable "$reqest_time" (did you mean "$request_time"?)`},
		{"$Status", `unknown variable "$Status" (did you mean "$status"?)`},
		{"$http_x_api_key", `unknown variable "$http_x_api_key"`},
		{"${status", `variable "${status" at offset 0 has no closing '}'`},
		{"cost: $", `"$" at offset 6 is not followed by a variable name (write "$$" for a literal "$")`},
		{"$ status", `"$" at offset 0 is not followed by a variable name`},
		{"$status\n$route", `template has a control character ('\n') at offset 7: a template is one line`},
		{"  ", "template is empty"},
	}
	for _, tc := range tests {
		_, err := NewTemplate(tc.text, EscapeDefault)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewTemplate(%q): got %v, want %q", tc.text, err, tc.want)
		}
	}
	if _, err := NewTemplate("$http_x_api_key", EscapeDefault); err != nil && strings.Contains(err.Error(), "did you mean") {
		t.Errorf("far-off name got a suggestion: %v", err)
	}
	if _, err := NewTemplate("$status", Escaping(7)); err == nil {
		t.Error("unknown escaping accepted")
	}
}

// A client controls the request line and headers; no byte it sends may
// end a field or the line in any format.
func TestEscapingHostileValues(t *testing.T) {
	hostile := []byte("x\" \"forged\" 200 0 \"-\" \"-\"\n203.0.113.9 - admin [\\\x00\x1b[31m\xff\xfe")
	r := &Record{Time: testTime, Method: []byte("GET"), Path: hostile, Query: hostile, Protocol: hostile,
		UserAgent: hostile, Referer: hostile, Consumer: hostile, RequestID: hostile, Route: hostile,
		CacheStatus: hostile, Upstream: hostile, UpstreamTarget: hostile, Traceparent: hostile,
		ClientIP: netip.MustParseAddr("fe80::1").WithZone("eth0\"\n\xff")}

	line := AppendCombined(nil, r)
	body := line[:len(line)-1]
	if strings.Count(string(body), `\`) != strings.Count(string(body), `\x`) {
		t.Errorf("combined: a backslash that is not an escape: %s", body)
	}
	for _, c := range body {
		if c < 0x20 || c >= 0x7f {
			t.Fatalf("combined: raw byte %#x in %q", c, body)
		}
	}
	// The only quotes are the format's six.
	if n := strings.Count(string(body), `"`); n != 6 {
		t.Errorf("combined: %d quotes, want 6: %s", n, body)
	}
	if !strings.HasPrefix(string(body), `fe80::1%eth0\x22\x0A\xFF - `) {
		t.Errorf("combined: zone not escaped: %s", body)
	}

	line = AppendJSON(nil, r)
	if strings.Count(string(line), "\n") != 1 || line[len(line)-1] != '\n' {
		t.Errorf("json: not one line: %q", line)
	}
	var got map[string]any
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("json: invalid: %v\n%s", err, line)
	}
	want := string([]rune(string(hostile)))
	for _, k := range []string{"path", "query", "user_agent", "referer", "consumer", "request_id", "route", "cache_status", "upstream", "upstream_target", "traceparent", "protocol"} {
		if got[k] != want {
			t.Errorf("json %s: got %q, want %q", k, got[k], want)
		}
	}
	if got["client_ip"] != "fe80::1%eth0\"\n\ufffd" {
		t.Errorf("json client_ip: got %q", got["client_ip"])
	}
}

func TestAppendJSONEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`q"b\s`, `q\"b\\s`},
		{"\n\r\t\x00\x1f\x7f", `\n\r\t\u0000\u001f\u007f`},
		{"é€😀", "é€😀"},
		{"\xff", `\ufffd`},
		{"a\xc3", `a\ufffd`},
		{"\xed\xa0\x80", `\ufffd\ufffd\ufffd`}, // a UTF-16 surrogate in UTF-8
		{"\xef\xbf\xbd", "\ufffd"},             // U+FFFD itself is valid
		{"\u2028", "\u2028"},
	}
	for _, tc := range tests {
		got := string(AppendJSON(nil, &Record{Path: []byte(tc.in)}))
		want := `,"path":"` + tc.want + `",`
		if !strings.Contains(got, want) {
			t.Errorf("path %q: got %s, want it to contain %s", tc.in, got, want)
		}
	}
}

func TestAppendNginxEscapes(t *testing.T) {
	// nginx's default escaping: '"', '\', bytes below 0x20 and from 0x7f,
	// as \xHH in upper case; everything else as it is.
	var all []byte
	for c := 0; c < 256; c++ {
		all = append(all, byte(c))
	}
	got := string(appendNginx(nil, all))
	var want strings.Builder
	for c := 0; c < 256; c++ {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			want.WriteString(`\x` + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&0xf])))
		} else {
			want.WriteByte(byte(c))
		}
	}
	if got != want.String() {
		t.Errorf("got\n%s\nwant\n%s", got, want.String())
	}
}

func TestTimeAndNumberFormats(t *testing.T) {
	tm := time.Date(987, 12, 9, 3, 4, 5, 6e6, time.FixedZone("", 5*3600+45*60))
	if got := string(appendRFC3339Millis(nil, tm)); got != tm.Format("2006-01-02T15:04:05.000Z07:00") {
		t.Errorf("rfc3339: got %s", got)
	}
	if got := string(appendTimeLocal(nil, tm)); got != tm.Format("02/Jan/2006:15:04:05 -0700") {
		t.Errorf("time_local: got %s", got)
	}
	if got := string(appendISO8601(nil, testTime)); got != "2024-05-01T12:00:00+00:00" {
		t.Errorf("iso8601: got %s", got)
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "0.000000"}, {999, "0.000000"}, {time.Microsecond, "0.000001"}, {1500 * time.Millisecond, "1.500000"}, {90061*time.Second + 5*time.Microsecond, "90061.000005"}, {-1, "0.000000"}} {
		if got := string(appendSeconds(nil, tc.d)); got != tc.want {
			t.Errorf("seconds %v: got %s, want %s", tc.d, got, tc.want)
		}
	}
	for _, n := range []int64{0, 7, -7, 1<<63 - 1, -1 << 63} {
		if got := string(appendInt(nil, n)); got != strconv.FormatInt(n, 10) {
			t.Errorf("int %d: got %s", n, got)
		}
	}
	if got := string(appendMsec(nil, testTime)); got != "1714564800.123" {
		t.Errorf("msec: got %s", got)
	}
	if got := string(appendStatus(nil, 0)); got != "000" {
		t.Errorf("status 0: got %s", got)
	}
	if got := string(appendStatus(nil, 1234)); got != "1234" {
		t.Errorf("status 1234: got %s", got)
	}
}
