package accesslog_test

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/moongate/moongate/core/accesslog"
)

// The log phase of one request, as the access-log plugin does it: redact
// the query into a pooled buffer, fill a Record with what the request
// context holds, append the line, hand it to the Writer.
func Example() {
	w := accesslog.New(os.Stdout, accesslog.Options{})
	defer w.Close()

	credentials := []string{"api_key"} // query names of key-auth and jwt
	var query, line []byte             // pooled by the caller, reused

	query = accesslog.AppendRedactedQuery(query[:0], []byte("page=2&api_key=s3cret"), credentials)
	r := accesslog.Record{
		Time:        time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		ClientIP:    netip.MustParseAddr("203.0.113.7"),
		Method:      []byte("GET"),
		Path:        []byte("/users/42"),
		Query:       query,
		Protocol:    []byte("HTTP/1.1"),
		Status:      200,
		BytesSent:   512,
		RequestTime: 1500 * time.Microsecond,
		Route:       []byte("users"),
		UserAgent:   []byte("curl/8.5.0"),
	}
	line = accesslog.AppendCombined(line[:0], &r)
	w.Write(line)
	// Output:
	// 203.0.113.7 - - [01/May/2024:12:00:00 +0000] "GET /users/42?page=2&api_key=[redacted] HTTP/1.1" 200 512 "-" "curl/8.5.0"
}

func ExampleNewTemplate() {
	tpl, err := accesslog.NewTemplate("$time_iso8601 $route $status $request_time", accesslog.EscapeDefault)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := accesslog.Record{Time: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), Status: 404, RequestTime: 42 * time.Microsecond}
	fmt.Print(string(tpl.Append(nil, &r)))

	_, err = accesslog.NewTemplate("$time $reqest_time", accesslog.EscapeDefault)
	fmt.Println(err)
	// Output:
	// 2024-05-01T12:00:00+00:00 - 404 0.000042
	// unknown variable "$reqest_time" (did you mean "$request_time"?)
}
