package jwt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// jwtFuzz is the step the fuzz targets send tokens to, and the tokens it
// accepts. The HS256 and EdDSA keys are fixed, so that their tokens are
// the same in every fuzzing process; RS256 and ES256 keys are made per
// process (getKeys).
type jwtFuzz struct {
	step  plugin.RequestHandler
	valid []string // tokens that authenticate
	rsPEM string   // the RS256 public key, for algorithm confusion
}

var (
	jwtFuzzOnce sync.Once
	jwtFuzzFix  jwtFuzz
)

const fuzzHSSecret = "jwt-fuzz-static-hs256-secret-0123456789"

// fuzzClaims expire in 2100, so that tokens written into the corpus stay
// valid.
func fuzzClaims(iss, sub string) gojwt.MapClaims {
	return gojwt.MapClaims{"iss": iss, "sub": sub, "exp": 4102444800, "iat": 1700000000, "email": "a@example.com"}
}

func jwtFixture(t testing.TB) *jwtFuzz {
	jwtFuzzOnce.Do(func() {
		k := getKeys(t)
		seed := sha256.Sum256([]byte("moongate jwt fuzz"))
		ed := ed25519.NewKeyFromSeed(seed[:])
		der, err := x509.MarshalPKIXPublicKey(ed.Public())
		if err != nil {
			t.Fatal(err)
		}
		edFile := filepath.Join(k.dir, "ed-fuzz.pem")
		if err := os.WriteFile(edFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse("fuzz.toml", []byte(`
[[consumers]]
name = "alice"
jwt_secrets = [{ key = "alice-iss", secret = "`+aliceSecret+`", algorithm = "HS256" }]
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "jwt"
  [routes.plugins.config]
  algorithms = ["HS256", "RS256", "ES256", "EdDSA"]
  keys = [
    { kid = "h1", algorithm = "HS256", secret = "`+fuzzHSSecret+`" },
    { kid = "r1", algorithm = "RS256", public_key = "file:`+k.rsaFile+`" },
    { kid = "e1", algorithm = "ES256", public_key = "file:`+filepath.Join(k.dir, "ec.pem")+`" },
    { kid = "d1", algorithm = "EdDSA", public_key = "file:`+edFile+`" },
  ]
`))
		if err != nil {
			t.Fatal(err)
		}
		reg, err := consumer.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := New(plugin.Spec{Config: cfg.Routes[0].Plugins[0].Config, Env: &plugin.Env{Config: cfg, Consumers: reg}})
		if err != nil {
			t.Fatal(err)
		}
		jwtFuzzFix = jwtFuzz{step: inst.(plugin.RequestHandler), rsPEM: k.rsaPEM, valid: []string{
			sign(t, "HS256", "", []byte(aliceSecret), fuzzClaims("alice-iss", "alice")),
			sign(t, "HS256", "h1", []byte(fuzzHSSecret), fuzzClaims("idp", "svc-h")),
			sign(t, "EdDSA", "d1", ed, fuzzClaims("idp", "svc-d")),
			sign(t, "RS256", "r1", k.rsa, fuzzClaims("idp", "svc-r")),
			sign(t, "ES256", "e1", k.ec, fuzzClaims("idp", "svc-e")),
		}}
	})
	if jwtFuzzFix.step == nil {
		t.Fatal("jwt fuzz fixture failed")
	}
	return &jwtFuzzFix
}

// authenticate sends tok as a bearer token and returns the consumer, or
// nil. Anything but a 401 for a token that does not authenticate fails.
func (fx *jwtFuzz) authenticate(t *testing.T, tok []byte) *consumer.Consumer {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Request.SetRequestURI("/x")
	fc.Request.Header.SetBytesV("Authorization", append([]byte("Bearer "), tok...))
	c := plugintest.NewContext(fc)
	defer plugintest.Release(c)
	if err := fx.step.OnRequest(c); err != nil {
		t.Fatalf("token %q: step failed (500): %v", tok, err)
	}
	if c.Consumer == nil && fc.Response.StatusCode() != 401 {
		t.Fatalf("token %q: answered %d, want 401", tok, fc.Response.StatusCode())
	}
	return c.Consumer
}

// FuzzJWT sends fuzzed bearer tokens to the jwt step. It must never
// panic, answer 401 to what it refuses, and authenticate no token but the
// ones signed by its keys: no alg "none", no algorithm confusion, no
// re-encoding of a valid token.
func FuzzJWT(f *testing.F) {
	fx := jwtFixture(f)
	for _, tok := range fx.valid {
		f.Add(tok)
		f.Add(" " + tok + " ")
		f.Add(tok + "=")
		f.Add(tok[:len(tok)-1])
	}
	hdr := map[string]any{"alg": "none", "typ": "JWT"}
	cl := map[string]any{"iss": "alice-iss", "sub": "alice", "exp": 4102444800}
	for _, alg := range []string{"none", "None", "NONE", "nOnE", ""} {
		hdr["alg"] = alg
		f.Add(rawToken(hdr, cl, nil))
		f.Add(rawToken(hdr, cl, nil) + "c2ln")
	}
	// Algorithm confusion: HS256 keyed with the RSA public key.
	f.Add(rawToken(map[string]any{"alg": "HS256", "kid": "r1"}, map[string]any{"sub": "x", "exp": 4102444800}, []byte(fx.rsPEM)))
	f.Add(rawToken(map[string]any{"alg": "HS256", "kid": "../../../../dev/null"}, cl, []byte("")))
	f.Add(rawToken(map[string]any{"alg": "HS256", "jku": "http://127.0.0.1:1/jwks"}, cl, []byte("attacker-secret-0123456789abcdef0123")))
	// Signed with a trusted key, but with an extension the step does not
	// know: RFC 7515 §4.1.11 says refuse.
	f.Add(rawToken(map[string]any{"alg": "HS256", "crit": []string{"exp"}, "exp": 1}, cl, []byte(aliceSecret)))
	f.Add(rawToken(map[string]any{"alg": "HS256", "crit": []string{}}, cl, []byte(aliceSecret)))
	f.Add(rawToken(map[string]any{"alg": "ES256", "kid": "e1"}, cl, []byte("x")))
	for _, s := range []string{"", ".", "..", "...", "a.b.c", "a.b.c.d", "e30.e30.", "e30.e30.e30",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "eyJhbGciOiJIUzI1NiJ9.bnVsbA.x", "W10.W10.W10",
		"eyJhbGciOiJIUzI1NiIsImFsZyI6Im5vbmUifQ.e30.", "\x00.\x00.\x00", "Bearer x", "é.é.é"} {
		f.Add(s)
	}
	f.Add(string(bytes.Repeat([]byte("A"), maxToken+1)))
	f.Fuzz(func(t *testing.T, tok string) {
		cons := fx.authenticate(t, []byte(tok))
		if cons == nil {
			return
		}
		trimmed := string(bytes.TrimSpace([]byte(tok)))
		for _, v := range fx.valid {
			if trimmed == v {
				return
			}
		}
		t.Fatalf("token %q authenticated %q: it is none of the signed tokens", tok, cons.Name)
	})
}

// FuzzJWTFlip flips bits of one byte of a valid token: no such token may
// authenticate (a signature's base64 with other padding bits, a header or
// claim changed by one bit).
func FuzzJWTFlip(f *testing.F) {
	fx := jwtFixture(f)
	for i := range fx.valid {
		for _, pos := range []uint16{0, 1, 10, 36, 37, 80, 0xfffe, 0xffff} {
			f.Add(uint8(i), pos, uint8(1))
		}
		f.Add(uint8(i), uint16(len(fx.valid[i])-1), uint8(1)) // the last base64 digit's padding bits
		f.Add(uint8(i), uint16(len(fx.valid[i])-1), uint8(2))
		f.Add(uint8(i), uint16(len(fx.valid[i])-1), uint8(3))
	}
	f.Fuzz(func(t *testing.T, which uint8, pos uint16, bits uint8) {
		tok := []byte(fx.valid[int(which)%len(fx.valid)])
		if bits == 0 {
			bits = 1
		}
		tok[int(pos)%len(tok)] ^= bits
		if cons := fx.authenticate(t, tok); cons != nil {
			t.Fatalf("%q, one byte from a valid token, authenticated %q", tok, cons.Name)
		}
	})
}
