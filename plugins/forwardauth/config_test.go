package forwardauth

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin/plugintest"
)

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`timeout = "1s"`, `test.toml:3: plugins[0].config.url: must be an http:// or https:// URL, got ""`},
		{`url = "ftp://auth.internal/check"`, `test.toml:4: plugins[0].config.url: must be an http:// or https:// URL, got "ftp://auth.internal/check"`},
		{`url = "http://auth.internal/check"
timeout = "0s"`, "test.toml:5: plugins[0].config.timeout: must be more than 0s"},
		{`url = "http://auth.internal/check"
upstream_headers = ["X-User", "X User"]`, `test.toml:5: plugins[0].config.upstream_headers: invalid header name "X User"`},
		{`url = "http://auth.internal/check"
consumer_header = "X-User:"`, `test.toml:5: plugins[0].config.consumer_header: invalid header name "X-User:"`},
	} {
		_, err := plugintest.Build("[[plugins]]\nname = \"forward-auth\"\n[plugins.config]\n" + tc.config + "\n")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.config, err, tc.want)
		}
	}
}

// A service that cannot be reached refuses the request: it never goes
// on unauthenticated.
func TestServiceUnreachable(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "forward-auth"
[plugins.config]
url = "http://127.0.0.1:1/check"
timeout = "2s"
`)
	res := ch.Do(plugintest.Request{Header: []string{"Authorization", "Bearer x"}})
	if !res.Stopped || res.Status < 500 {
		t.Fatalf("status %d, stopped %v: %s", res.Status, res.Stopped, res.Body)
	}
	if strings.Contains(res.Body, "127.0.0.1") || strings.Contains(res.Body, "Bearer") {
		t.Fatalf("the answer shows internals: %s", res.Body)
	}
}
