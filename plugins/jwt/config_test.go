package jwt

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
)

func TestConfigProblems(t *testing.T) {
	k := getKeys(t)
	cases := []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"keys": []any{map[string]any{"algorithm": "HS256", "secret": "0123456789abcdef0123456789abcdef"}}}, "algorithms: is required"},
		{map[string]any{"algorithms": []any{"none"}}, `algorithms[0]: must be one of`},
		{map[string]any{"algorithms": []any{"HS256"}, "keys": []any{map[string]any{"algorithm": "HS256", "secret": "short-secret"}}}, "keys[0].secret: HS256 needs a secret of at least 32 bytes"},
		{map[string]any{"algorithms": []any{"RS256"}, "keys": []any{map[string]any{"algorithm": "RS256", "secret": "x"}}}, "keys[0].secret: RS256 keys are public keys"},
		{map[string]any{"algorithms": []any{"ES256"}, "keys": []any{map[string]any{"algorithm": "ES256", "public_key": k.rsaPEM}}}, "ES256 needs an ECDSA public key"},
		{map[string]any{"algorithms": []any{"RS256"}, "keys": []any{map[string]any{"algorithm": "HS256", "secret": "0123456789abcdef0123456789abcdef"}}}, `"HS256" is not in algorithms`},
		{map[string]any{"algorithms": []any{"RS256"}}, "keys: no verification key"},
		{map[string]any{"algorithms": []any{"RS256"}, "jwks_file": "/nonexistent/jwks.json"}, "jwks_file:"},
	}
	for _, tc := range cases {
		_, err := New(plugin.Spec{Config: config.NewTable("config", tc.raw), Env: &plugin.Env{}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%v: error %v, want %q", tc.raw, err, tc.want)
		}
		if strings.Contains(err.Error(), "0123456789abcdef") || strings.Contains(err.Error(), "short-secret") {
			t.Fatalf("error shows the secret: %v", err)
		}
	}
}
