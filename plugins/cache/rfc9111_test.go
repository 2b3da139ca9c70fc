package cache_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// The HTTP caching rules of issue 11 §2, end to end: a real upstream that
// counts what reaches it, the real gateway with a cache step.

// TestExplicitFreshnessStoresAnyFinalStatus: a response that says how
// long it is fresh (max-age, s-maxage, Expires) is stored whatever its
// final status (RFC 9111 §3); statuses only limit heuristic freshness and
// ttl. A 206 is never stored as if it were the whole response.
func TestExplicitFreshnessStoresAnyFinalStatus(t *testing.T) {
	for _, status := range []int{299, 303, 400, 499, 500, 503, 599} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			g, up := setup(t, func(ctx *fasthttp.RequestCtx) {
				ctx.Response.Header.Set("Cache-Control", "max-age=60")
				if status == 303 {
					ctx.Response.Header.Set("Location", "/elsewhere")
				}
				ctx.SetStatusCode(status)
				fmt.Fprintf(ctx, "n=%d", n.Add(1))
			}, "")
			expect(t, g, "/s", "MISS", status, "n=1")
			expect(t, g, "/s", "HIT", status, "n=1")
			if up.Hits() != 1 {
				t.Fatalf("upstream hits = %d, want 1", up.Hits())
			}
		})
	}
	t.Run("Expires", func(t *testing.T) {
		t.Parallel()
		h, _ := counter("Expires", httpDate(time.Now().Add(time.Hour)))
		g, _ := setup(t, func(ctx *fasthttp.RequestCtx) { h(ctx); ctx.SetStatusCode(502) }, "")
		expect(t, g, "/s", "MISS", 502, "n=1")
		expect(t, g, "/s", "HIT", 502, "n=1")
	})
	t.Run("without explicit freshness, statuses still decide", func(t *testing.T) {
		t.Parallel()
		h, _ := counter()
		g, up := setup(t, func(ctx *fasthttp.RequestCtx) { h(ctx); ctx.SetStatusCode(500) }, `ttl = "60s"`)
		expect(t, g, "/s", "MISS", 500, "n=1")
		expect(t, g, "/s", "MISS", 500, "n=2")
		if up.Hits() != 2 {
			t.Fatalf("upstream hits = %d, want 2", up.Hits())
		}
	})
	t.Run("206 is not stored", func(t *testing.T) {
		t.Parallel()
		h, _ := counter("Cache-Control", "max-age=60", "Content-Range", "bytes 0-2/10")
		g, _ := setup(t, func(ctx *fasthttp.RequestCtx) { h(ctx); ctx.SetStatusCode(206) }, "")
		expect(t, g, "/s", "MISS", 206, "n=1")
		expect(t, g, "/s", "MISS", 206, "n=2")
	})
}

// failingUpstream answers with hdrs until fail is set; then it answers
// 503 (mode 1) or drops the connection without answering (mode 2).
func failingUpstream(t *testing.T, mode *atomic.Int32, hdrs ...string) *gatewaytest.Upstream {
	h, _ := counter(hdrs...)
	return gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		switch mode.Load() {
		case 1:
			ctx.SetStatusCode(503)
			ctx.SetBodyString("origin down")
			return
		case 2:
			ctx.HijackSetNoResponse(true)
			ctx.Hijack(func(c net.Conn) { c.Close() })
			return
		}
		h(ctx)
	})
}

// TestNoStaleAfterOriginFailure: a stored response that must be
// revalidated before use (no-cache, must-revalidate, proxy-revalidate,
// s-maxage) is never served when revalidation fails (RFC 9111 §5.2.2.4,
// §5.2.2.2, §4.2.4), whatever stale_if_error says: the client gets the
// error. The entries are stored already stale (Age equals max-age, with an
// ETag), or fresh but no-cache.
func TestNoStaleAfterOriginFailure(t *testing.T) {
	for _, tc := range []struct {
		name, cc, age string
		mode          int32
	}{
		{"no-cache, fresh, origin 503", "max-age=60, no-cache", "", 1},
		{"no-cache, fresh, origin drops the connection", "max-age=60, no-cache", "", 2},
		{"no-cache, stale, origin 503", "max-age=10, no-cache", "10", 1},
		{"must-revalidate, origin 503", "max-age=10, must-revalidate", "10", 1},
		{"must-revalidate, origin drops the connection", "max-age=10, must-revalidate", "10", 2},
		{"proxy-revalidate, origin 503", "max-age=10, proxy-revalidate", "10", 1},
		{"s-maxage, origin 503", "s-maxage=10", "10", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mode atomic.Int32
			hdrs := []string{"Cache-Control", tc.cc, "ETag", `"v1"`}
			if tc.age != "" {
				hdrs = append(hdrs, "Age", tc.age)
			}
			up := failingUpstream(t, &mode, hdrs...)
			g := gatewaytest.Start(t, gatewayTOML(up.URL, `stale_if_error = "1h"`, ""))
			expect(t, g, "/r", "MISS", 200, "n=1")
			mode.Store(tc.mode)
			status, body, cs, _ := get(t, g, "GET", "/r")
			if status == 200 || strings.Contains(body, "n=1") {
				t.Fatalf("origin failing: got %d %s %q, want the error, not the stored response", status, cs, body)
			}
		})
	}
	t.Run("a plain stale entry is still served on error", func(t *testing.T) {
		t.Parallel()
		var mode atomic.Int32
		up := failingUpstream(t, &mode, "Cache-Control", "max-age=10", "Age", "10", "ETag", `"v1"`)
		g := gatewaytest.Start(t, gatewayTOML(up.URL, `stale_if_error = "1h"`, ""))
		expect(t, g, "/r", "MISS", 200, "n=1")
		mode.Store(1)
		expect(t, g, "/r", "STALE", 200, "n=1")
	})
}

// TestHTTPDatesStrict: an Expires that is not exactly one of the three
// HTTP-date formats is invalid, and an invalid Expires means already
// expired (RFC 9111 §5.3): runs of spaces, a one-digit hour, two Expires
// lines. "GMT" is read in any case.
func TestHTTPDatesStrict(t *testing.T) {
	soon := time.Now().Add(time.Hour).UTC()
	imf := soon.Format("Mon, 02 Jan 2006 15:04:05") + " GMT"
	for _, tc := range []struct {
		name    string
		expires []string
		second  string
	}{
		{"IMF-fixdate", []string{imf}, "HIT"},
		{"gmt in lower case", []string{soon.Format("Mon, 02 Jan 2006 15:04:05") + " gmt"}, "HIT"},
		{"asctime", []string{soon.Format("Mon Jan _2 15:04:05 2006")}, "HIT"},
		{"rfc850", []string{soon.Format("Monday, 02-Jan-06 15:04:05") + " GMT"}, "HIT"},
		{"runs of spaces", []string{soon.Format("Mon,  02 Jan 2006  15:04:05") + " GMT"}, "MISS"},
		// Go's "3" layout prints 10, 11 and 12 with two digits: build the
		// one-digit hour by hand, whatever the time of day.
		{"one-digit hour", []string{soon.Format("Mon, 02 Jan 2006 ") + strconv.Itoa(soon.Hour()%10) + soon.Format(":04:05") + " GMT"}, "MISS"},
		{"several lines", []string{imf, imf}, "MISS"},
		{"trailing garbage", []string{imf + "x"}, "MISS"},
		{"a zone other than GMT", []string{soon.Format("Mon, 02 Jan 2006 15:04:05") + " UTC"}, "MISS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hdrs []string
			for _, e := range tc.expires {
				hdrs = append(hdrs, "Expires", e)
			}
			h, _ := counter(hdrs...)
			g, _ := setup(t, h, "")
			expect(t, g, "/x", "MISS", 200, "n=1")
			want := "n=1"
			if tc.second == "MISS" {
				want = "n=2"
			}
			expect(t, g, "/x", tc.second, 200, want)
		})
	}
}

// TestOriginDateKeptOnHits: a response served from the cache carries the
// Date the origin gave it (RFC 9110 §6.6.1), and Age tells how old it is;
// the cache does not pass it off as generated now.
func TestOriginDateKeptOnHits(t *testing.T) {
	date := httpDate(time.Now().Add(-30 * time.Second))
	// fasthttp's server writes its own Date: a raw upstream writes the
	// origin's.
	raw := rawUpstream(t, "HTTP/1.1 200 OK\r\nDate: "+date+"\r\nCache-Control: max-age=3600\r\nContent-Length: 5\r\n\r\ndated")
	g := gatewaytest.Start(t, gatewayTOML(raw, "", ""))
	expect(t, g, "/d", "MISS", 200, "dated")
	for i := 0; i < 2; i++ {
		resp := expect(t, g, "/d", "HIT", 200, "dated")
		if got := string(resp.Header.Peek("Date")); got != date {
			t.Fatalf("hit: Date = %q, want the origin's %q", got, date)
		}
		if n := len(resp.Header.PeekAll("Date")); n != 1 {
			t.Fatalf("hit: %d Date lines", n)
		}
		if age, _ := strconv.Atoi(string(resp.Header.Peek("Age"))); age < 29 {
			t.Fatalf("hit: Age = %q, want at least 29 (the origin's Date is 30s old)", resp.Header.Peek("Age"))
		}
	}
}

// TestRevalidationDates: a 304 dates the revalidated entry with its own
// Date, or, when it has none, with the time it was received; the entry
// stored with an hour-old Date is fresh again after it.
func TestRevalidationDates(t *testing.T) {
	old := httpDate(time.Now().Add(-time.Hour))
	raw := rawUpstream(t,
		"HTTP/1.1 200 OK\r\nDate: "+old+"\r\nCache-Control: max-age=60\r\nETag: \"v\"\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 304 Not Modified\r\nETag: \"v\"\r\nCache-Control: max-age=60\r\n\r\n")
	g := gatewaytest.Start(t, gatewayTOML(raw, "", ""))
	expect(t, g, "/d", "MISS", 200, "ok")
	expect(t, g, "/d", "REVALIDATED", 200, "ok")
	resp := expect(t, g, "/d", "HIT", 200, "ok")
	if d := string(resp.Header.Peek("Date")); d == old {
		t.Fatalf("hit after revalidation: Date = %q, the one from before it", d)
	}
}

// rawUpstream serves raw responses, one per connection: the nth request
// gets the nth response (the last one once past the end). It returns its
// URL.
func rawUpstream(t *testing.T, responses ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			response := responses[min(int(n.Add(1)), len(responses))-1]
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.SetDeadline(time.Now().Add(10 * time.Second))
				got := 0
				for !strings.Contains(string(buf[:got]), "\r\n\r\n") && got < len(buf) {
					n, err := c.Read(buf[got:])
					if err != nil {
						return
					}
					got += n
				}
				c.Write([]byte(response))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// TestAgeList: Age is a singleton; a list ("7200, 0", or several lines)
// is read by its first member (RFC 9111 §5.1), never as 0: a response
// already 7200 s old with max-age=3600 is stale on arrival.
func TestAgeList(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hdrs   []string
		second string
	}{
		{"7200, 0", []string{"Age", "7200, 0"}, "MISS"},
		{"two lines 7200 then 0", []string{"Age", "7200", "Age", "0"}, "MISS"},
		{"0, 7200", []string{"Age", "0, 7200"}, "HIT"},
		{"invalid is ignored", []string{"Age", "abc"}, "HIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := counter(append([]string{"Cache-Control", "max-age=3600"}, tc.hdrs...)...)
			g, _ := setup(t, h, "")
			expect(t, g, "/a", "MISS", 200, "n=1")
			want := "n=1"
			if tc.second == "MISS" {
				want = "n=2"
			}
			expect(t, g, "/a", tc.second, 200, want)
		})
	}
}

// TestRangeFromCache: Range requests are answered from a stored complete
// response: one range as a 206 with Content-Range, an unsatisfiable one
// as 416, If-Range honoured with a strong validator; several ranges get
// the whole 200 response. On a miss, the full response is fetched
// (without Range) and stored, and the client still gets its range.
func TestRangeFromCache(t *testing.T) {
	const body = "0123456789abcdefghij"
	lm := httpDate(time.Now().Add(-time.Hour))
	var sawRange atomic.Value
	sawRange.Store("")
	var n atomic.Int64
	g, up := setup(t, func(ctx *fasthttp.RequestCtx) {
		n.Add(1)
		if r := ctx.Request.Header.Peek("Range"); len(r) > 0 {
			sawRange.Store(string(r))
		}
		ctx.Response.Header.Set("Cache-Control", "max-age=600")
		ctx.Response.Header.Set("ETag", `"strong"`)
		ctx.Response.Header.Set("Last-Modified", lm)
		ctx.SetContentType("text/plain")
		ctx.SetBodyString(body)
	}, "")

	// A miss with Range: fetched whole, stored, the range answered.
	resp := expect(t, g, "/r", "MISS", 206, "2345", "Range", "bytes=2-5")
	if got := string(resp.Header.Peek("Content-Range")); got != "bytes 2-5/20" {
		t.Fatalf("miss: Content-Range = %q", got)
	}
	if s := sawRange.Load().(string); s != "" {
		t.Fatalf("the upstream got Range %q, want the whole response asked for", s)
	}
	for _, tc := range []struct {
		name          string
		hdrs          []string
		status        int
		body, cr      string
		contentLength int
	}{
		{"one range", []string{"Range", "bytes=0-3"}, 206, "0123", "bytes 0-3/20", 4},
		{"open-ended", []string{"Range", "bytes=15-"}, 206, "fghij", "bytes 15-19/20", 5},
		{"suffix", []string{"Range", "bytes=-3"}, 206, "hij", "bytes 17-19/20", 3},
		{"past the end is cut", []string{"Range", "bytes=18-100"}, 206, "ij", "bytes 18-19/20", 2},
		{"unsatisfiable", []string{"Range", "bytes=20-"}, 416, "", "bytes */20", 0},
		{"several ranges: the whole response", []string{"Range", "bytes=0-1,5-6"}, 200, body, "", 20},
		{"not bytes: ignored", []string{"Range", "items=0-1"}, 200, body, "", 20},
		{"invalid: ignored", []string{"Range", "bytes=5-2"}, 200, body, "", 20},
		{"If-Range with the ETag", []string{"Range", "bytes=0-1", "If-Range", `"strong"`}, 206, "01", "bytes 0-1/20", 2},
		{"If-Range with another ETag", []string{"Range", "bytes=0-1", "If-Range", `"old"`}, 200, body, "", 20},
		{"If-Range with a weak ETag", []string{"Range", "bytes=0-1", "If-Range", `W/"strong"`}, 200, body, "", 20},
		{"If-Range with the Last-Modified date", []string{"Range", "bytes=0-1", "If-Range", lm}, 206, "01", "bytes 0-1/20", 2},
		{"If-Range with another date", []string{"Range", "bytes=0-1", "If-Range", httpDate(time.Now().Add(-2 * time.Hour))}, 200, body, "", 20},
		{"If-None-Match first", []string{"Range", "bytes=0-1", "If-None-Match", `"strong"`}, 304, "", "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got, cs, resp := get(t, g, "GET", "/r", tc.hdrs...)
			if status != tc.status || got != tc.body || cs != "HIT" {
				t.Fatalf("got %d %s %q, want %d HIT %q", status, cs, got, tc.status, tc.body)
			}
			if cr := string(resp.Header.Peek("Content-Range")); cr != tc.cr {
				t.Fatalf("Content-Range = %q, want %q", cr, tc.cr)
			}
			if tc.contentLength >= 0 && resp.Header.ContentLength() != tc.contentLength {
				t.Fatalf("Content-Length = %d, want %d", resp.Header.ContentLength(), tc.contentLength)
			}
		})
	}
	if up.Hits() != 1 {
		t.Fatalf("upstream hits = %d, want 1", up.Hits())
	}
	t.Run("HEAD ignores Range", func(t *testing.T) {
		status, _, cs, resp := get(t, g, "HEAD", "/r", "Range", "bytes=0-1")
		if status != 200 || cs != "HIT" || resp.Header.ContentLength() != 20 {
			t.Fatalf("got %d %s length %d, want 200 HIT 20", status, cs, resp.Header.ContentLength())
		}
	})
}

// TestTargetedCacheControl: CDN-Cache-Control (RFC 9213), or the
// targeted fields configured, wins over Cache-Control and Expires for this
// cache when present and valid; CDN-Cache-Control goes on downstream
// (CDNs in front read it too), a field named for this cache alone does
// not.
func TestTargetedCacheControl(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		hdrs       []string
		second     string
	}{
		{"CDN-Cache-Control allows what Cache-Control forbids", "",
			[]string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60"}, "HIT"},
		{"CDN-Cache-Control forbids what Cache-Control allows", "",
			[]string{"Cache-Control", "max-age=60", "CDN-Cache-Control", "no-store"}, "MISS"},
		{"Expires is ignored", "",
			[]string{"Expires", httpDate(time.Now().Add(time.Hour)), "CDN-Cache-Control", "public"}, "MISS"},
		{"an invalid targeted field is ignored", "",
			[]string{"Cache-Control", "max-age=60", "CDN-Cache-Control", "no-store, Bad"}, "HIT"},
		{"a targeted directive of the wrong type is ignored", "",
			[]string{"Cache-Control", "no-store", "CDN-Cache-Control", `max-age="60", s-maxage=60`}, "HIT"},
		{"an empty targeted field is ignored", "",
			[]string{"Cache-Control", "max-age=60", "CDN-Cache-Control", ""}, "HIT"},
		{"turned off", "targeted_cache_control = []",
			[]string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60"}, "MISS"},
		{"the first configured field wins", `targeted_cache_control = ["Moongate-Cache-Control", "CDN-Cache-Control"]`,
			[]string{"Cache-Control", "no-store", "CDN-Cache-Control", "no-store", "Moongate-Cache-Control", "max-age=60"}, "HIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := counter(tc.hdrs...)
			g, _ := setup(t, h, tc.conf)
			resp := expect(t, g, "/t", "MISS", 200, "n=1")
			want := "n=1"
			if tc.second == "MISS" {
				want = "n=2"
			}
			resp = expect(t, g, "/t", tc.second, 200, want)
			if strings.Contains(tc.conf, "Moongate") {
				if v := resp.Header.Peek("Moongate-Cache-Control"); v != nil {
					t.Fatalf("Moongate-Cache-Control reached the client: %q", v)
				}
				if v := string(resp.Header.Peek("CDN-Cache-Control")); v != "no-store" {
					t.Fatalf("CDN-Cache-Control = %q, want it passed on", v)
				}
			}
		})
	}
}

// TestVaryNormalized: requests whose Vary'd header values differ only in
// ways that do not change their meaning (whitespace, lines, case, the
// order of Accept-Encoding, q=1 spelled out) share a variant (RFC 9111
// §4.1); values that mean something else do not.
func TestVaryNormalized(t *testing.T) {
	var n atomic.Int64
	g, up := setup(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=60")
		ctx.Response.Header.Set("Vary", "Accept-Encoding, Accept-Language")
		fmt.Fprintf(ctx, "n=%d", n.Add(1))
	}, "")
	expect(t, g, "/v", "MISS", 200, "n=1", "Accept-Encoding", "gzip, br", "Accept-Language", "en, fr;q=0.5")
	for _, hdrs := range [][]string{
		{"Accept-Encoding", "gzip,br", "Accept-Language", "en,fr;q=0.5"},
		{"Accept-Encoding", "br, gzip", "Accept-Language", "en , fr ; q=0.50"},
		{"Accept-Encoding", "GZIP", "Accept-Encoding", "br", "Accept-Language", "EN, fr;Q=0.5"},
		{"Accept-Encoding", " gzip;q=1.0 ,br ", "Accept-Language", "fr;q=0.5, en;q=1"},
	} {
		expect(t, g, "/v", "HIT", 200, "n=1", hdrs...)
	}
	if up.Hits() != 1 {
		t.Fatalf("upstream hits = %d, want 1", up.Hits())
	}
	// Different meanings: another coding, another preference among equal
	// languages (the order of equals may count), another q.
	expect(t, g, "/v", "MISS", 200, "n=2", "Accept-Encoding", "gzip", "Accept-Language", "en, fr;q=0.5")
	expect(t, g, "/v", "MISS", 200, "n=3", "Accept-Encoding", "gzip, br", "Accept-Language", "fr, en")
	expect(t, g, "/v", "MISS", 200, "n=4", "Accept-Encoding", "gzip, br", "Accept-Language", "en, fr;q=0.4")
	// An empty Accept-Encoding accepts no coding; an absent one any.
	expect(t, g, "/v", "MISS", 200, "n=5", "Accept-Encoding", "", "Accept-Language", "en")
	expect(t, g, "/v", "MISS", 200, "n=6", "Accept-Language", "en")
	expect(t, g, "/v", "HIT", 200, "n=5", "Accept-Encoding", " ", "Accept-Language", "en")
}

// TestRangeOfLargeResponse: a response too large to store cannot be cut
// by the cache (it streams through): the first Range request, fetched
// whole, gets the whole response; the cache remembers, and the next
// Range requests go to the upstream with their Range.
func TestRangeOfLargeResponse(t *testing.T) {
	body := strings.Repeat("0123456789", 300<<10) // 3 MB, over stream_threshold and max_object_size
	var ranges atomic.Int64
	g, up := setup(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "max-age=600")
		if string(ctx.Request.Header.Peek("Range")) == "bytes=0-3" {
			ranges.Add(1)
			ctx.SetStatusCode(206)
			ctx.Response.Header.Set("Content-Range", fmt.Sprintf("bytes 0-3/%d", len(body)))
			ctx.SetBodyString(body[:4])
			return
		}
		ctx.SetBodyString(body)
	}, "")
	status, got, cs, _ := get(t, g, "GET", "/big", "Range", "bytes=0-3")
	if status != 200 || len(got) != len(body) || cs != "BYPASS" || ranges.Load() != 0 {
		t.Fatalf("first: got %d %s %d bytes, upstream ranges %d; want the whole response, fetched whole", status, cs, len(got), ranges.Load())
	}
	for i := 0; i < 2; i++ {
		status, got, cs, _ = get(t, g, "GET", "/big", "Range", "bytes=0-3")
		if status != 206 || got != "0123" || cs != "BYPASS" {
			t.Fatalf("then: got %d %s %q, want the upstream's 206", status, cs, short(got))
		}
	}
	if ranges.Load() != 2 || up.Hits() != 3 {
		t.Fatalf("upstream: %d requests, %d with Range; want 3 and 2", up.Hits(), ranges.Load())
	}
}
