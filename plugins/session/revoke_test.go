package session

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/redistest"
)

// revokeConfig is sessionConfig with the keys given to the logout route
// too (it opens the cookie to revoke its session), and extra on top.
func revokeConfig(u *gatewaytest.Upstream, extra string) string {
	keys := `["` + keyNew + `"]`
	conf := sessionConfig(u, keys, "aes-256-gcm", aliceConsumer)
	conf = strings.Replace(conf, `  mode = "logout"`, `  mode = "logout"
  keys = `+keys, 1)
	return extra + conf
}

// login logs alice in on g and returns her session cookie.
func login(t *testing.T, g *gatewaytest.Gateway) string {
	t.Helper()
	status, body, resp := gatewaytest.Do(t, "POST", g.URL+"/login", nil, "Authorization", basic("alice", "wonderland"))
	ck := cookieOf(t, resp, "moongate_session")
	if status != 200 || ck == "" {
		t.Fatalf("login: status %d, cookie %q: %s", status, ck, body)
	}
	return ck
}

// TestLogoutOnOneNodeHoldsOnAnother is the attack of someone holding a
// copy of a session cookie (a shared computer, a stolen cookie) after
// its owner logged out on one node of a cluster, who sends it to another
// node: with [redis], that node refuses it too, and the upstream never
// sees the request.
func TestLogoutOnOneNodeHoldsOnAnother(t *testing.T) {
	rd := redistest.Start(t)
	u, last := upstreamNaming(t)
	conf := revokeConfig(u, "[redis]\naddresses = [\""+rd.Addr+"\"]\n")
	a := gatewaytest.Start(t, conf)
	b := gatewaytest.Start(t, conf)
	ck := login(t, a)
	if status, _, _ := gatewaytest.Do(t, "GET", b.URL+"/app/x", nil, "Cookie", "moongate_session="+ck); status != 200 || *last != "alice|admins" {
		t.Fatalf("before the logout, on node b: status %d, upstream saw %q", status, *last)
	}
	if status, _, _ := gatewaytest.Do(t, "POST", a.URL+"/logout", nil, "Cookie", "moongate_session="+ck); status != 200 {
		t.Fatalf("logout on node a: status %d", status)
	}
	for name, g := range map[string]*gatewaytest.Gateway{"a": a, "b": b} {
		before := u.Hits()
		status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/app/x", nil, "Cookie", "moongate_session="+ck)
		if status != 401 || !strings.Contains(string(body), "session logged out") || u.Hits() != before {
			t.Errorf("the copy after the logout, on node %s: status %d %s, upstream hits +%d; want 401 and none", name, status, body, u.Hits()-before)
		}
	}
	// A new login is a new session.
	if status, _, _ := gatewaytest.Do(t, "GET", b.URL+"/app/x", nil, "Cookie", "moongate_session="+login(t, a)); status != 200 {
		t.Errorf("a new session after the logout: status %d, want 200", status)
	}
}

// TestLogoutHoldsOnItsNode: without [redis], the node that served the
// logout refuses the session from then on (another node knows nothing
// of it: docs/cluster.md).
func TestLogoutHoldsOnItsNode(t *testing.T) {
	u, _ := upstreamNaming(t)
	a := gatewaytest.Start(t, revokeConfig(u, ""))
	ck := login(t, a)
	if status, _, _ := gatewaytest.Do(t, "GET", a.URL+"/app/x", nil, "Cookie", "moongate_session="+ck); status != 200 {
		t.Fatalf("before the logout: status %d", status)
	}
	gatewaytest.Do(t, "POST", a.URL+"/logout", nil, "Cookie", "moongate_session="+ck)
	before := u.Hits()
	if status, _, _ := gatewaytest.Do(t, "GET", a.URL+"/app/x", nil, "Cookie", "moongate_session="+ck); status != 401 || u.Hits() != before {
		t.Errorf("after the logout: status %d, upstream hits +%d; want 401 and none", status, u.Hits()-before)
	}
}
