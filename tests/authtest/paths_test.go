package authtest

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

func pathsConfig(u *recorder, server string) string {
	return server + upstreamTOML(u) + `
[[consumers]]
name = "alice"
groups = ["admins"]
keys = ["` + aliceKey + `"]

[[routes]]
name = "admin"
paths = ["/admin/"]
upstream = "app"
  [[routes.plugins]]
  name = "key-auth"

[[routes]]
name = "public"
paths = ["/"]
upstream = "app"
`
}

// protectedHits counts the requests the upstream received under /admin.
func (r *recorder) protectedHits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.reqs {
		if strings.HasPrefix(s.Path, "/admin") {
			n++
		}
	}
	return n
}

// TestProtectedPrefixAttacks tries to reach /admin/secret without a key
// through the unprotected catch-all route.
func TestProtectedPrefixAttacks(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, pathsConfig(u, ""))
	cases := []struct {
		path   string
		status int
	}{
		{"/admin/secret", 401},
		{"/admin", 401},
		{"/public/../admin/secret", 401},
		{"/public/./../admin/secret", 401},
		{"/../admin/secret", 401},
		{"/public/%2e%2e/admin/secret", 401},
		{"/public/%2E%2e/admin/secret", 401},
		{"/public/.%2e/admin/secret", 401},
		{"/%2e%2e/admin/secret", 401},
		{"//admin//secret", 401},
		{"///admin/secret", 401},
		{"/admin%2fsecret", 401},
		{"/admin%2Fsecret", 401},
		{"/public%2f..%2fadmin/secret", 401},
		{"/%61dmin/secret", 401},
		{"/admin/./secret", 401},
		{"/admin;x/secret", 400},
		{"/admin;/secret", 400},
		{"/public/..;/admin/secret", 400},
		{"/admin/secret;jsessionid=42", 400},
		{"/public/..%3b/admin/secret", 400},
		{"/admin%3Bx/secret", 400},
		{`/public\..\admin\secret`, 400},
		{"/public%5c..%5cadmin%5csecret", 400},
		{"/admin/%00secret", 400},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			status, body, _ := gatewaytest.Do(t, "GET", g.URL+tc.path, nil)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
		})
	}
	if n := u.protectedHits(); n != 0 {
		t.Fatalf("the upstream served /admin %d times without a key", n)
	}
	// Case: paths are case-sensitive by default; "/ADMIN/secret" is
	// another resource and goes upstream exactly as written, so a
	// case-sensitive upstream cannot serve /admin/secret for it.
	status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/ADMIN/secret", nil)
	if got := u.last(t).Path; status != 200 || got != "/ADMIN/secret" {
		t.Fatalf("/ADMIN/secret: status %d, upstream path %q", status, got)
	}
	if n := u.protectedHits(); n != 0 {
		t.Fatalf("the upstream served /admin %d times without a key", n)
	}
	// With the key, the normalized path is what goes upstream.
	status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/public/%2e%2e/admin//secret", nil, "X-API-Key", aliceKey)
	if got := u.last(t).Path; status != 200 || got != "/admin/secret" {
		t.Fatalf("with key: status %d, upstream path %q: %s", status, got, body)
	}
}

// TestCaseInsensitivePaths: for upstreams that ignore case, the path is
// lower-cased before routing, so "/ADMIN/" runs the /admin/ chain.
func TestCaseInsensitivePaths(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, pathsConfig(u, "[server]\nlisten = \"127.0.0.1:0\"\ncase_insensitive_paths = true\n"))
	for _, p := range []string{"/ADMIN/secret", "/Admin/Secret", "/aDmIn", "/public/../ADMIN/x", "/%41DMIN/x"} {
		if status, body, _ := gatewaytest.Do(t, "GET", g.URL+p, nil); status != 401 {
			t.Fatalf("%s: status %d, want 401: %s", p, status, body)
		}
	}
	if u.Hits() != 0 {
		t.Fatal("upstream reached without a key")
	}
	status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/Admin/Secret?Q=A", nil, "X-API-Key", aliceKey)
	if s := u.last(t); status != 200 || s.URI != "/admin/secret?Q=A" {
		t.Fatalf("with key: status %d, upstream URI %q", status, s.URI)
	}
}

// TestSemicolonsAllowed: strict_paths = false lets ';' through for
// upstreams that treat it as an ordinary character.
func TestSemicolonsAllowed(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, pathsConfig(u, "[server]\nlisten = \"127.0.0.1:0\"\nstrict_paths = false\n"))
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/files/a;b", nil); status != 200 || u.last(t).Path != "/files/a;b" {
		t.Fatalf("status %d, path %q", status, u.last(t).Path)
	}
}
