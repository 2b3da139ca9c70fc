package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
)

// keys are generated once for the package's tests.
type testKeys struct {
	rsa     *rsa.PrivateKey
	rsaPEM  string
	ec      *ecdsa.PrivateKey
	ecPEM   string
	ed      ed25519.PrivateKey
	edPEM   string
	dir     string
	rsaFile string
}

var (
	keysOnce sync.Once
	tk       testKeys
)

const aliceSecret = "alice-hs256-secret-0123456789abcdef" // 35 bytes

func pubPEM(t testing.TB, pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func getKeys(t testing.TB) *testKeys {
	keysOnce.Do(func() {
		var err error
		if tk.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
		if tk.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
		if _, tk.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
			t.Fatal(err)
		}
		tk.rsaPEM, tk.ecPEM, tk.edPEM = pubPEM(t, &tk.rsa.PublicKey), pubPEM(t, &tk.ec.PublicKey), pubPEM(t, tk.ed.Public())
		tk.dir, _ = os.MkdirTemp("", "jwt-test")
		tk.rsaFile = filepath.Join(tk.dir, "rsa.pem")
		os.WriteFile(tk.rsaFile, []byte(tk.rsaPEM), 0o600)
		os.WriteFile(filepath.Join(tk.dir, "ec.pem"), []byte(tk.ecPEM), 0o600)
		os.WriteFile(filepath.Join(tk.dir, "ed.pem"), []byte(tk.edPEM), 0o600)
	})
	return &tk
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tk.dir != "" {
		os.RemoveAll(tk.dir)
	}
	os.Exit(code)
}

func sign(t testing.TB, alg string, kid string, key any, claims gojwt.MapClaims) string {
	t.Helper()
	tok := gojwt.NewWithClaims(gojwt.GetSigningMethod(alg), claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// rawToken builds a token by hand, signed with HMAC-SHA256 under key (or
// unsigned if key is nil).
func rawToken(header, claims map[string]any, key []byte) string {
	s := b64(header) + "." + b64(claims)
	if key == nil {
		return s + "."
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return s + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func claims(extra map[string]any) gojwt.MapClaims {
	c := gojwt.MapClaims{"sub": "svc-1", "iss": "https://idp.test/", "aud": "orders",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Add(-time.Minute).Unix(), "email": "svc@example.com",
		"roles": []string{"reader", "writer"}}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func gatewayConfig(u *gatewaytest.Upstream, k *testKeys, extra string) string {
	return `
[[consumers]]
name = "alice"
groups = ["admins"]
jwt_secrets = [{ key = "alice-iss", secret = "` + aliceSecret + `", algorithm = "HS256" }]

[[upstreams]]
name = "app"
targets = [{ url = "` + u.URL + `" }]

[[routes]]
name = "api"
paths = ["/api/"]
upstream = "app"
  [[routes.plugins]]
  name = "jwt"
  [routes.plugins.config]
  algorithms = ["HS256", "RS256", "ES256", "EdDSA"]
  issuers = ["https://idp.test/", "alice-iss"]
  audiences = ["orders"]
  groups_claim = "roles"
  claims_to_headers = { email = "X-User-Email" }
  keys = [
    { kid = "r1", algorithm = "RS256", public_key = "file:` + k.rsaFile + `" },
    { kid = "e1", algorithm = "ES256", public_key = "file:` + filepath.Join(k.dir, "ec.pem") + `" },
    { kid = "d1", algorithm = "EdDSA", public_key = "file:` + filepath.Join(k.dir, "ed.pem") + `" },
  ]
` + extra
}

type upstreamSeen struct {
	mu      sync.Mutex
	headers map[string]string
}

func startUpstream(t *testing.T) (*gatewaytest.Upstream, *upstreamSeen) {
	s := &upstreamSeen{}
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		h := map[string]string{}
		for k, v := range ctx.Request.Header.All() {
			h[strings.ToLower(string(k))] = string(v)
		}
		s.mu.Lock()
		s.headers = h
		s.mu.Unlock()
	})
	return u, s
}

func (s *upstreamSeen) get(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[strings.ToLower(name)]
}

// TestAttacks sends forged, broken and stale tokens: every one gets 401,
// never reaches the upstream, and the body shows no key material.
func TestAttacks(t *testing.T) {
	k := getKeys(t)
	u, _ := startUpstream(t)
	var jkuHits atomic.Int64
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
	jku := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		jkuHits.Add(1)
		ctx.SetBodyString(`{"keys":[]}`)
	})
	g := gatewaytest.Start(t, gatewayConfig(u, k, ""))
	good := sign(t, "RS256", "r1", k.rsa, claims(nil))
	parts := strings.Split(good, ".")
	hdr := map[string]any{"alg": "RS256", "typ": "JWT", "kid": "r1"}
	withKID := func(kid string) string {
		return sign(t, "RS256", kid, k.rsa, claims(nil))
	}
	jkuToken := func() string {
		tok := gojwt.NewWithClaims(gojwt.SigningMethodRS256, claims(nil))
		tok.Header["kid"] = "attacker"
		tok.Header["jku"] = jku.URL + "/jwks.json"
		tok.Header["x5u"] = jku.URL + "/cert.pem"
		s, _ := tok.SignedString(attacker)
		return s
	}()
	cases := []struct{ name, auth string }{
		{"alg none", "Bearer " + rawToken(map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), nil)},
		{"alg None", "Bearer " + rawToken(map[string]any{"alg": "None", "typ": "JWT"}, claims(nil), nil)},
		{"alg NONE", "Bearer " + rawToken(map[string]any{"alg": "NONE", "typ": "JWT"}, claims(nil), nil)},
		{"alg none with kid", "Bearer " + rawToken(map[string]any{"alg": "none", "kid": "r1"}, claims(nil), nil)},
		{"alg none signed", "Bearer " + rawToken(map[string]any{"alg": "none"}, claims(nil), []byte("x"))},
		{"HS256 with the RSA public key", "Bearer " + rawToken(map[string]any{"alg": "HS256", "kid": "r1"}, claims(nil), []byte(k.rsaPEM))},
		{"HS256 with the RSA public key, no kid", "Bearer " + rawToken(map[string]any{"alg": "HS256"}, claims(nil), []byte(k.rsaPEM))},
		{"HS256 with the RSA public key as consumer", "Bearer " + rawToken(map[string]any{"alg": "HS256"}, claims(map[string]any{"iss": "alice-iss"}), []byte(k.rsaPEM))},
		{"RS256 kid on an ES256 key", "Bearer " + sign(t, "RS256", "e1", k.rsa, claims(nil))},
		{"expired", "Bearer " + sign(t, "RS256", "r1", k.rsa, claims(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}))},
		{"no exp", "Bearer " + sign(t, "RS256", "r1", k.rsa, claims(map[string]any{"exp": nil}))},
		{"not yet valid", "Bearer " + sign(t, "RS256", "r1", k.rsa, claims(map[string]any{"nbf": time.Now().Add(time.Hour).Unix()}))},
		{"issued in the future", "Bearer " + sign(t, "RS256", "r1", k.rsa, claims(map[string]any{"iat": time.Now().Add(time.Hour).Unix()}))},
		{"wrong audience", "Bearer " + sign(t, "RS256", "r1", k.rsa, claims(map[string]any{"aud": "billing"}))},
		{"no audience", "Bearer " + sign(t, "RS256", "r1", k.rsa, claims(map[string]any{"aud": nil}))},
		{"wrong issuer", "Bearer " + sign(t, "RS256", "r1", k.rsa, claims(map[string]any{"iss": "https://evil.test/"}))},
		{"no sub", "Bearer " + sign(t, "RS256", "r1", k.rsa, claims(map[string]any{"sub": nil}))},
		{"kid path traversal", "Bearer " + withKID("../../../../../../dev/null")},
		{"kid absolute path", "Bearer " + withKID(k.rsaFile)},
		{"kid with NUL", "Bearer " + withKID("r1\x00")},
		{"kid r1 plus path", "Bearer " + withKID("r1/../r1")},
		{"kid SQL", "Bearer " + withKID("' OR '1'='1")},
		{"jku and x5u to an attacker", "Bearer " + jkuToken},
		{"signed by another key", "Bearer " + func() string {
			s, _ := gojwt.NewWithClaims(gojwt.SigningMethodRS256, claims(nil)).SignedString(attacker)
			return s
		}()},
		{"tampered payload", "Bearer " + parts[0] + "." + b64(claims(map[string]any{"sub": "admin"})) + "." + parts[2]},
		{"tampered header", "Bearer " + b64(map[string]any{"alg": "RS384", "kid": "r1"}) + "." + parts[1] + "." + parts[2]},
		{"truncated", "Bearer " + good[:len(good)-5]},
		{"truncated to two parts", "Bearer " + parts[0] + "." + parts[1]},
		{"one part", "Bearer " + parts[0]},
		{"dots only", "Bearer .."},
		{"four parts", "Bearer " + good + ".x"},
		{"garbage", "Bearer %%%%garbage%%%%"},
		{"bad base64 header", "Bearer !!!." + parts[1] + "." + parts[2]},
		{"header not JSON", "Bearer " + base64.RawURLEncoding.EncodeToString([]byte("not json")) + "." + parts[1] + "." + parts[2]},
		{"header JSON array", "Bearer " + base64.RawURLEncoding.EncodeToString([]byte("[1,2]")) + "." + parts[1] + "." + parts[2]},
		{"alg number", "Bearer " + b64(map[string]any{"alg": 256, "kid": "r1"}) + "." + parts[1] + "." + parts[2]},
		{"kid object", "Bearer " + b64(map[string]any{"alg": "RS256", "kid": map[string]any{"a": 1}}) + "." + parts[1] + "." + parts[2]},
		{"claims not JSON", "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte("{{{")) + "." + parts[2]},
		{"exp string", "Bearer " + sign(t, "RS256", "r1", k.rsa, claims(map[string]any{"exp": "tomorrow"}))},
		{"huge token", "Bearer " + strings.Repeat("a", 7000)},
		{"bearer only", "Bearer"},
		{"bearer spaces", "Bearer    "},
		{"other scheme", "Basic " + good},
		{"no scheme", good},
		{"binary", "Bearer \xff\xfe\xc3\xa9.\x80.\x81"},
		{"missing", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdrs []string
			if tc.auth != "" {
				hdrs = []string{"Authorization", tc.auth}
			}
			before := u.Hits()
			status, body, resp := gatewaytest.Do(t, "GET", g.URL+"/api/x", nil, hdrs...)
			if status != 401 {
				t.Fatalf("status %d, want 401: %s", status, body)
			}
			if u.Hits() != before {
				t.Fatal("the upstream was called")
			}
			if got := string(resp.Header.Peek("WWW-Authenticate")); !strings.HasPrefix(got, "Bearer ") {
				t.Fatalf("WWW-Authenticate %q", got)
			}
			for _, secret := range []string{aliceSecret, "PUBLIC KEY", k.rsaFile, "MII", attacker.N.String()[:20]} {
				if strings.Contains(string(body), secret) {
					t.Fatalf("body shows key material: %s", body)
				}
			}
		})
	}
	if jkuHits.Load() != 0 {
		t.Fatalf("the jku/x5u server was fetched %d times", jkuHits.Load())
	}
	_ = hdr
}

// TestJWKSURL fetches keys from a JWKS server on loopback, refreshes them
// in the background, and picks up a rotated key.
func TestJWKSURL(t *testing.T) {
	k := getKeys(t)
	u, seen := startUpstream(t)
	second, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var rotated atomic.Bool
	var fetches atomic.Int64
	jwksSrv := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		fetches.Add(1)
		keys := []map[string]any{jwkRSA("k1", &k.rsa.PublicKey)}
		if rotated.Load() {
			keys = []map[string]any{jwkEC("k2", &second.PublicKey)}
		}
		b, _ := json.Marshal(map[string]any{"keys": keys})
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
	})
	g := gatewaytest.Start(t, `
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "jwt"
  [routes.plugins.config]
  algorithms = ["RS256", "ES256"]
  jwks_url = "`+jwksSrv.URL+`/jwks.json"
  jwks_refresh = "1h"
`)
	if fetches.Load() == 0 {
		t.Fatal("JWKS not fetched at start")
	}
	tok1 := sign(t, "RS256", "k1", k.rsa, claims(map[string]any{"aud": nil}))
	if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "Authorization", "Bearer "+tok1); status != 200 {
		t.Fatalf("k1: status %d: %s", status, body)
	}
	if seen.get("X-Consumer-Name") != "svc-1" {
		t.Fatalf("consumer %q", seen.get("X-Consumer-Name"))
	}
	// The identity provider rotates to k2: the first token with k2 is
	// refused (unknown kid) and triggers an early refresh.
	rotated.Store(true)
	tok2 := sign(t, "ES256", "k2", second, claims(map[string]any{"aud": nil}))
	deadline := time.Now().Add(10 * time.Second)
	ok := false
	for i := 0; i < 200 && time.Now().Before(deadline); i++ {
		if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "Authorization", "Bearer "+tok2); status == 200 {
			ok = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !ok {
		t.Fatal("rotated key never accepted")
	}
	// The JWKS no longer holds k1, and the refresh forgot cached tokens.
	if status, _, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "Authorization", "Bearer "+tok1); status != 401 {
		t.Fatalf("token of a removed key: status %d, want 401", status)
	}
}

func jwkRSA(kid string, pub *rsa.PublicKey) map[string]any {
	e := big(pub.E)
	return map[string]any{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(e)}
}

func jwkEC(kid string, pub *ecdsa.PublicKey) map[string]any {
	b, _ := pub.Bytes() // uncompressed point: 0x04 || X || Y
	return map[string]any{"kty": "EC", "kid": kid, "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(b[1:33]), "y": base64.RawURLEncoding.EncodeToString(b[33:])}
}

func big(e int) []byte {
	var out []byte
	for e > 0 {
		out = append([]byte{byte(e)}, out...)
		e >>= 8
	}
	return out
}
