package jwt

import (
	"encoding/base64"
	"strings"
	"testing"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
)

// TestReencodedSignatureRefused: the last base64url digit of a signature
// carries unused low bits; setting them wrote the same signature another
// way, and the token still authenticated. A stolen or revoked token came
// in several spellings (a deny-list by token missed them). Found by
// FuzzJWTFlip.
func TestReencodedSignatureRefused(t *testing.T) {
	k := getKeys(t)
	u, _ := startUpstream(t)
	g := gatewaytest.Start(t, gatewayConfig(u, k, ""))
	for _, tc := range []struct{ name, token string }{
		{"HS256", sign(t, "HS256", "", []byte(aliceSecret), claims(map[string]any{"iss": "alice-iss"}))},
		{"EdDSA", sign(t, "EdDSA", "d1", k.ed, claims(nil))},
		{"RS256", sign(t, "RS256", "r1", k.rsa, claims(nil))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/api/x", nil, "Authorization", "Bearer "+tc.token); st != 200 {
				t.Fatalf("the token as signed: %d %s", st, body)
			}
			variants := respellings(t, tc.token)
			if len(variants) == 0 {
				t.Fatal("no other spelling of the signature")
			}
			for _, v := range variants {
				before := u.Hits()
				if st, _, _ := gatewaytest.Do(t, "GET", g.URL+"/api/x", nil, "Authorization", "Bearer "+v); st != 401 || u.Hits() != before {
					t.Errorf("%s...%s: status %d, upstream called %d times, want 401 and none", v[:10], v[len(v)-4:], st, u.Hits()-before)
				}
			}
		})
	}
}

// respellings returns tok with the unused low bits of its signature's
// last base64url digit set in every other way: the same bytes, decoded
// leniently.
func respellings(t *testing.T, tok string) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	unused := 6*len(sig) - 8*len(raw)
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	var out []string
	for low := 1; low < 1<<unused; low++ {
		v := tok[:len(tok)-1] + string(alphabet[last|low])
		if again, err := base64.RawURLEncoding.DecodeString(v[strings.LastIndexByte(v, '.')+1:]); err != nil || string(again) != string(raw) {
			t.Fatalf("%q does not decode to the same signature", v)
		}
		out = append(out, v)
	}
	return out
}

// TestCriticalExtensionRefused: a token whose "crit" header names
// extensions must be refused by a recipient that does not understand
// them (RFC 7515 §4.1.11); the library ignores "crit", and such a token,
// signed by a trusted key, authenticated. Found while seeding FuzzJWT.
func TestCriticalExtensionRefused(t *testing.T) {
	k := getKeys(t)
	u, _ := startUpstream(t)
	g := gatewaytest.Start(t, gatewayConfig(u, k, ""))
	tok := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims(map[string]any{"iss": "alice-iss"}))
	tok.Header["crit"] = []string{"http://example.com/must-check-device"}
	tok.Header["http://example.com/must-check-device"] = true
	s, err := tok.SignedString([]byte(aliceSecret))
	if err != nil {
		t.Fatal(err)
	}
	if st, body, _ := gatewaytest.Do(t, "GET", g.URL+"/api/x", nil, "Authorization", "Bearer "+s); st != 401 || u.Hits() != 0 {
		t.Fatalf("status %d (%s), upstream hits %d, want 401 and none", st, body, u.Hits())
	}
}
