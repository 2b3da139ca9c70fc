package authtest

import (
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// key-auth with scheme = "Bearer" reads "Authorization: Bearer KEY", as
// OpenAI's SDKs send an API key: the scheme in any case, the key after
// it. A value without the scheme is no key (so that multi-auth tries its
// other methods), and the key never goes upstream with hide_credentials.
func TestKeyAuthBearerScheme(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, upstreamTOML(u)+twoConsumers+`
[[routes]]
name = "api"
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "key-auth"
  [routes.plugins.config]
  header = "Authorization"
  scheme = "Bearer"
  hide_credentials = true
`)
	for _, tc := range []struct {
		value  string
		status int
	}{
		{"Bearer " + aliceKey, 200},
		{"bearer " + aliceKey, 200},
		{"BEARER " + aliceKey, 200},
		{aliceKey, 401},
		{"Basic " + aliceKey, 401},
		{"Bearer wrong-key", 401},
		{"Bearer", 401},
	} {
		st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "Authorization", tc.value)
		if st != tc.status {
			t.Errorf("Authorization %q: status %d, want %d: %s", tc.value, st, tc.status, body)
		}
		noSecret(t, body, aliceKey)
	}
	if got := u.last(t).header("Authorization"); len(got) != 0 {
		t.Fatalf("the key went upstream: %v", got)
	}
	if got := u.last(t).header("X-Consumer-Name"); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("consumer %v", got)
	}
}
