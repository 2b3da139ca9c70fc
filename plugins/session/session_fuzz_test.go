package session

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"reflect"
	"sync"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// sessionFuzz is the check step the fuzz targets send cookies to, and the
// cookies it accepts. The cookies are sealed with fixed nonces and times,
// and the step has no idle timeout and a 10-year absolute one, so that
// they are the same, and valid, in every fuzzing process and in the
// corpus.
type sessionFuzz struct {
	step  *checkStep
	valid []string
}

var (
	sessionFuzzOnce sync.Once
	sessionFuzzFix  sessionFuzz
)

func sessionFixture(t testing.TB) *sessionFuzz {
	sessionFuzzOnce.Do(func() {
		cfg, err := config.Parse("fuzz.toml", []byte(`
[[consumers]]
name = "alice"
groups = ["admins"]
[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "session"
  [routes.plugins.config]
  keys = ["`+keyNew+`", "`+keyOld+`"]
  idle_timeout = "0s"
  absolute_timeout = "87600h"
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
		step := inst.(*checkStep)
		const issued = 1700000000 // November 2023
		var valid []string
		for i, s := range []contents{
			{issued: issued, seen: issued, name: []byte("alice"), cred: []byte("key")},
			{issued: issued, seen: issued + 60, external: true, name: []byte("bob"), cred: []byte("upstream"),
				groups: [][]byte{[]byte("staff"), []byte("ops")}},
		} {
			for _, sl := range step.p.open { // sealed by the new key, and by the old one
				valid = append(valid, sealFixed(sl, step.p.aad, marshal(nil, &s), byte(i)))
			}
		}
		sessionFuzzFix = sessionFuzz{step: step, valid: valid}
	})
	if sessionFuzzFix.step == nil {
		t.Fatal("session fuzz fixture failed")
	}
	return &sessionFuzzFix
}

// sealFixed is sealValue with a nonce made from seed instead of random.
func sealFixed(s sealer, aad, pt []byte, seed byte) string {
	nonce := sha256.Sum256([]byte{seed, s.id})
	raw := append([]byte{s.id}, nonce[:s.aead.NonceSize()]...)
	raw = s.aead.Seal(raw, raw[1:], pt, aad)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// check sends cookie as the session cookie through both phases of the
// check step and returns the consumer, or nil. Anything but a 401 for a
// cookie that does not authenticate fails.
func (fx *sessionFuzz) check(t *testing.T, cookie []byte) (*consumer.Consumer, []byte) {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Request.SetRequestURI("/x")
	fc.Request.Header.SetBytesV("Cookie", append([]byte("theme=dark; moongate_session="), cookie...))
	c := plugintest.NewContext(fc)
	defer plugintest.Release(c)
	got := append([]byte(nil), fc.Request.Header.Cookie("moongate_session")...)
	if err := fx.step.OnRequest(c); err != nil {
		t.Fatalf("cookie %q: step failed (500): %v", cookie, err)
	}
	if c.Consumer == nil && fc.Response.StatusCode() != 401 {
		t.Fatalf("cookie %q: answered %d, want 401", cookie, fc.Response.StatusCode())
	}
	cons := c.Consumer
	fc.Response.SetStatusCode(200)
	if err := fx.step.OnResponse(c); err != nil {
		t.Fatalf("cookie %q: response phase failed: %v", cookie, err)
	}
	return cons, got
}

// FuzzSessionCookie sends fuzzed session cookies to the session step. It
// must never panic, answer 401 to what it refuses, and authenticate no
// cookie but the ones sealed with its keys.
func FuzzSessionCookie(f *testing.F) {
	fx := sessionFixture(f)
	for _, v := range fx.valid {
		f.Add(v)
		f.Add(`"` + v + `"`)
		f.Add(v + "=")
		f.Add(v[:len(v)-1])
		f.Add(v + "A")
		f.Add(base64.StdEncoding.EncodeToString(mustDecode(v)))
	}
	for _, s := range []string{"", "A", "AA", "AAA", "AAAA", "_-_-", "%00", "a b", "a;b", "x,y",
		"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", string(bytes.Repeat([]byte("A"), maxCookie*4/3+1)),
		string(bytes.Repeat([]byte("A"), maxCookie*4/3))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		cons, got := fx.check(t, []byte(cookie))
		if cons == nil {
			return
		}
		for _, v := range fx.valid {
			if string(got) == v {
				return
			}
		}
		t.Fatalf("cookie %q (read as %q) authenticated %q: it is none of the sealed cookies", cookie, got, cons.Name)
	})
}

func mustDecode(v string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzSessionFlip flips bits of one byte of a valid session cookie: no
// such cookie may authenticate.
func FuzzSessionFlip(f *testing.F) {
	fx := sessionFixture(f)
	for i, v := range fx.valid {
		for _, pos := range []uint16{0, 1, 2, 30, 33, 60, 0xffff} {
			f.Add(uint8(i), pos, uint8(1))
		}
		f.Add(uint8(i), uint16(len(v)-1), uint8(1)) // the last base64 digit's unused bits
		f.Add(uint8(i), uint16(len(v)-1), uint8(2))
		f.Add(uint8(i), uint16(len(v)-1), uint8(3))
	}
	f.Fuzz(func(t *testing.T, which uint8, pos uint16, bits uint8) {
		ck := []byte(fx.valid[int(which)%len(fx.valid)])
		if bits == 0 {
			bits = 1
		}
		ck[int(pos)%len(ck)] ^= bits
		if cons, got := fx.check(t, ck); cons != nil {
			t.Fatalf("%q (read as %q), one byte from a valid cookie, authenticated %q", ck, got, cons.Name)
		}
	})
}

// FuzzSessionContents parses fuzzed session plaintexts (what a cookie
// holds once opened). It must never panic, and what it accepts must write
// back (marshal) to a plaintext that reads the same.
func FuzzSessionContents(f *testing.F) {
	for _, s := range []contents{
		{issued: 1, seen: 2, name: []byte("alice"), cred: []byte("x")},
		{issued: -1, seen: 1 << 62, external: true, name: []byte("bob"), cred: []byte(""), groups: [][]byte{[]byte("a"), {}}},
		{name: bytes.Repeat([]byte("n"), 255), cred: bytes.Repeat([]byte("c"), 255), external: true,
			groups: [][]byte{bytes.Repeat([]byte("g"), 255)}},
	} {
		f.Add(marshal(nil, &s))
	}
	f.Add([]byte{})
	f.Add([]byte{version})
	f.Add(append([]byte{version}, make([]byte, 17)...))
	f.Add(append(append([]byte{version}, make([]byte, 16)...), 0xff, 1, 'a', 0, 255))
	f.Fuzz(func(t *testing.T, pt []byte) {
		var s contents
		if !parse(pt, &s) {
			return
		}
		if len(s.name) == 0 {
			t.Fatalf("%x: accepted without a name", pt)
		}
		again := marshal(nil, &s)
		var s2 contents
		if !parse(again, &s2) || !reflect.DeepEqual(norm(s), norm(s2)) {
			t.Fatalf("%x reads as %+v, written back as %x, which reads as %+v", pt, s, again, s2)
		}
		if s.external && pt[0] == version && pt[17] <= 1 && !bytes.Equal(again, pt) {
			t.Fatalf("%x written back as %x", pt, again)
		}
	})
}

// norm makes empty and nil slices compare equal.
func norm(s contents) contents {
	if len(s.cred) == 0 {
		s.cred = nil
	}
	for i, g := range s.groups {
		if len(g) == 0 {
			s.groups[i] = nil
		}
	}
	return s
}
