package admin

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// TestRootIsNotACatchAll registers "/" (as the dashboard does, without
// the token) beside /status and /cache/: "/" answers only "/", an
// unknown path is still a 404, and the token still guards the rest.
func TestRootIsNotACatchAll(t *testing.T) {
	s := testServer(Options{Token: "s3cret"})
	s.HandleOpen("/", func(ctx *fasthttp.RequestCtx) { WriteJSON(ctx, 200, map[string]string{"handler": "root"}) })
	for _, tc := range []struct {
		uri, auth string
		status    int
		handler   string
	}{
		{"/", "", 200, "root"},
		{"/", "Bearer s3cret", 200, "root"},
		{"/nope", "Bearer s3cret", 404, ""},
		{"/nope", "", 401, ""},
		{"/status", "", 401, ""},
		{"/status", "Bearer s3cret", 200, "status"},
		{"/cache/x", "Bearer s3cret", 200, "cache"},
	} {
		var headers []string
		if tc.auth != "" {
			headers = []string{"Authorization", tc.auth}
		}
		status, body := serve(t, s, request("GET", tc.uri, "", headers...))
		if status != tc.status || (tc.handler != "" && body["handler"] != tc.handler) {
			t.Errorf("GET %s (%q): %d %v, want %d from %q", tc.uri, tc.auth, status, body, tc.status, tc.handler)
		}
	}
	// Only GET and HEAD are open.
	if status, _ := serve(t, s, request("POST", "/", "")); status != 401 {
		t.Errorf("POST / without the token: %d, want 401", status)
	}
}
