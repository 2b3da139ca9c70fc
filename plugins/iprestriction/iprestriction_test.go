package iprestriction

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
)

// The step judges the real client address: the peer, or behind a
// trusted proxy the rightmost untrusted X-Forwarded-For address.
func TestClientAddress(t *testing.T) {
	ch := plugintest.New(t, `
[server]
trusted_proxies = ["127.0.0.1"]
[[plugins]]
name = "ip-restriction"
[plugins.config]
allow = ["10.0.0.0/8"]
deny = ["10.9.0.0/16"]
status = 404
message = "not found"
`)
	cases := []struct {
		name, peer, xff string
		status          int
	}{
		{"allowed peer", "10.1.2.3", "", 200},
		{"denied peer", "10.9.1.1", "", 404},
		{"peer outside allow", "203.0.113.9", "", 404},
		{"an untrusted peer's claim is ignored", "203.0.113.9", "10.1.2.3", 404},
		{"behind the proxy", "127.0.0.1", "10.1.2.3", 200},
		{"a client-prepended fake", "127.0.0.1", "203.0.113.9, 10.1.2.3", 200},
		{"the real client is the rightmost", "127.0.0.1", "10.1.2.3, 203.0.113.9", 404},
		{"denied behind the proxy", "127.0.0.1", "10.9.0.1", 404},
		{"garbage", "127.0.0.1", "garbage", 404},
	}
	for _, tc := range cases {
		var h []string
		if tc.xff != "" {
			h = []string{"X-Forwarded-For", tc.xff}
		}
		res := ch.Do(plugintest.Request{RemoteAddr: tc.peer, Header: h})
		if res.Status != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.name, res.Status, tc.status)
		}
		if tc.status != 200 && (!res.Stopped || !strings.Contains(res.Body, `"error":"not found"`)) {
			t.Fatalf("%s: stopped %v, body %s", tc.name, res.Stopped, res.Body)
		}
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`status = 403`, "test.toml:3: plugins[0].config.allow: needs allow or deny addresses"},
		{`allow = ["10.0.0.0/33"]`, `test.toml:4: plugins[0].config.allow[0]: is not an IP address or CIDR: "10.0.0.0/33"`},
		{`deny = ["localhost"]`, `test.toml:4: plugins[0].config.deny[0]: is not an IP address or CIDR: "localhost"`},
		{`allow = ["10.0.0.0/8"]
status = 500`, "test.toml:5: plugins[0].config.status: must be a 4xx status, got 500"},
	} {
		_, err := plugintest.Build("[[plugins]]\nname = \"ip-restriction\"\n[plugins.config]\n" + tc.config + "\n")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.config, err, tc.want)
		}
	}
}
