package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/moongate/moongate/bench/origin"
)

// Expect is what a contender's responses must show, beyond status 200
// and the origin's exact body.
type Expect struct {
	// Response headers that must be present and not empty.
	Response []string
	// Upstream headers the origin must have received (seen through
	// origin.InspectPath).
	Upstream []string
	// KeyHeader, when set, carries the API key: a request without it must
	// get 401.
	KeyHeader string
	// CacheHit: the second of two identical requests must carry
	// "X-Cache-Status: HIT".
	CacheHit bool
}

// Describe says in words what is checked.
func (e Expect) Describe(paths []string) string {
	parts := []string{"status 200 and the origin's exact body on " + strings.Join(paths, ", ")}
	if len(e.Response) > 0 {
		parts = append(parts, "response carries "+strings.Join(e.Response, ", "))
	}
	if len(e.Upstream) > 0 {
		parts = append(parts, "origin received "+strings.Join(e.Upstream, ", "))
	}
	if e.KeyHeader != "" {
		parts = append(parts, "no "+e.KeyHeader+" gets 401")
	}
	if e.CacheHit {
		parts = append(parts, "repeat request is X-Cache-Status: HIT; origin sees under 1% of the measured requests")
	} else {
		parts = append(parts, "origin sees every measured request")
	}
	return strings.Join(parts, "; ")
}

var checkClient = &http.Client{
	Timeout: 5 * time.Second,
	Transport: &http.Transport{DisableCompression: true, DisableKeepAlives: true,
		ResponseHeaderTimeout: 5 * time.Second},
}

// get sends one GET with the scenario's headers.
func get(url string, headers []string) (*http.Response, []byte, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := checkClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, body, err
}

// bodySize returns the body the origin serves for a path, -1 for none.
func bodySize(path string) int {
	switch path {
	case origin.SmallPath:
		return origin.SmallSize
	case origin.LargePath:
		return origin.LargeSize
	}
	return -1
}

// check verifies a contender at base ("http://127.0.0.1:port") against e.
// It returns nil if every expectation holds, or what does not.
func check(base string, paths, headers []string, e Expect) error {
	for _, p := range paths {
		var want []byte
		if n := bodySize(p); n >= 0 {
			want = origin.Body(n)
		}
		resp, body, err := get(base+p, headers)
		if err != nil {
			return fmt.Errorf("GET %s: %v", p, err)
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: status %d", p, resp.StatusCode)
		}
		if want != nil && !bytes.Equal(body, want) {
			return fmt.Errorf("GET %s: body of %d bytes, want the origin's %d", p, len(body), len(want))
		}
		for _, h := range e.Response {
			if resp.Header.Get(h) == "" {
				return fmt.Errorf("GET %s: no %s in the response", p, h)
			}
		}
		if e.CacheHit {
			resp, body, err := get(base+p, headers)
			if err != nil {
				return fmt.Errorf("GET %s again: %v", p, err)
			}
			if st := resp.Header.Get("X-Cache-Status"); resp.StatusCode != 200 || st != "HIT" || !bytes.Equal(body, want) {
				return fmt.Errorf("GET %s again: status %d, X-Cache-Status %q, %d bytes; want 200, HIT, %d bytes",
					p, resp.StatusCode, st, len(body), len(want))
			}
		}
	}
	if len(e.Upstream) > 0 {
		resp, body, err := get(base+origin.InspectPath, headers)
		if err != nil {
			return fmt.Errorf("GET %s: %v", origin.InspectPath, err)
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: status %d", origin.InspectPath, resp.StatusCode)
		}
		got := parseHeaderLines(body)
		for _, h := range e.Upstream {
			if got[strings.ToLower(h)] == "" {
				return fmt.Errorf("the origin did not receive %s", h)
			}
		}
	}
	if e.KeyHeader != "" {
		var rest []string
		for _, h := range headers {
			if k, _, _ := strings.Cut(h, ":"); !strings.EqualFold(strings.TrimSpace(k), e.KeyHeader) {
				rest = append(rest, h)
			}
		}
		resp, _, err := get(base+paths[0], rest)
		if err != nil {
			return fmt.Errorf("GET %s without %s: %v", paths[0], e.KeyHeader, err)
		}
		if resp.StatusCode != 401 {
			return fmt.Errorf("GET %s without %s: status %d, want 401", paths[0], e.KeyHeader, resp.StatusCode)
		}
	}
	return nil
}

// parseHeaderLines reads the origin's /inspect body into lowercase names.
func parseHeaderLines(b []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			m[strings.ToLower(k)] = v
		}
	}
	return m
}

// checkOriginShare verifies after a measured run that the origin saw the
// requests it should: all of them through a proxy, under 1% through a
// cache.
func checkOriginShare(e Expect, originHits, requests int64) error {
	if requests <= 0 {
		return fmt.Errorf("no requests completed")
	}
	if e.CacheHit {
		if originHits*100 > requests {
			return fmt.Errorf("origin saw %d of %d requests: not served from the cache", originHits, requests)
		}
		return nil
	}
	if originHits < requests {
		return fmt.Errorf("origin saw %d of %d requests", originHits, requests)
	}
	return nil
}

// checkErrors fails a run with failed requests (more than 0.1%).
func checkErrors(w wrkResult) error {
	if n := w.Errors(); n*1000 > w.Requests {
		return fmt.Errorf("%d of %d requests failed (connect %d, read %d, write %d, status %d, timeout %d)",
			n, w.Requests, w.ErrConnect, w.ErrRead, w.ErrWrite, w.ErrStatus, w.ErrTimeout)
	}
	return nil
}
