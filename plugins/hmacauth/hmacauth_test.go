package hmacauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/plugin/plugintest"
)

const secret = "alice-shared-secret"

type signed struct {
	method, target, date, body, digest string
	headers                            string
	key, alg, secret                   string
}

// authorization signs s the way a client would.
func (s signed) authorization() []string {
	if s.key == "" {
		s.key = "alice-hmac"
	}
	if s.alg == "" {
		s.alg = "hmac-sha256"
	}
	if s.secret == "" {
		s.secret = secret
	}
	vals := map[string]string{"date": s.date, "digest": s.digest, "@request-target": strings.ToLower(s.method) + " " + s.target}
	var lines []string
	for _, h := range strings.Fields(s.headers) {
		lines = append(lines, h+": "+vals[h])
	}
	m := hmac.New(sha256.New, []byte(s.secret))
	m.Write([]byte(strings.Join(lines, "\n")))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	h := []string{"Authorization", `Signature keyId="` + s.key + `",algorithm="` + s.alg + `",headers="` + s.headers + `",signature="` + sig + `"`}
	if s.date != "" {
		h = append(h, "Date", s.date)
	}
	if s.digest != "" {
		h = append(h, "Digest", s.digest)
	}
	return h
}

func digest(body string) string {
	sum := sha256.Sum256([]byte(body))
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}

// aliceChain is a hmac-auth step (sha256 only) and alice's secret.
const aliceChain = `
[[consumers]]
name = "alice"
hmac_secrets = [{ key = "alice-hmac", secret = "` + secret + `" }]
[[plugins]]
name = "hmac-auth"
[plugins.config]
algorithms = ["hmac-sha256"]
`

func TestSignedRequests(t *testing.T) {
	ch := plugintest.New(t, aliceChain)
	now := time.Now().UTC().Format(http.TimeFormat)
	old := time.Now().Add(-10 * time.Minute).UTC().Format(http.TimeFormat)
	std := "@request-target date"
	valid := signed{method: "GET", target: "/orders?id=1", date: now, headers: std}
	cases := []struct {
		name   string
		s      signed
		sendTo string // target actually requested, if not s.target
		sendAs string // method actually used, if not s.method
		body   string
		status int
	}{
		{"valid", valid, "", "", "", 200},
		{"replayed", valid, "", "", "", 401},
		{"valid with body", signed{method: "POST", target: "/orders", date: now, body: "{}", digest: digest("{}"), headers: std + " digest"}, "", "", "{}", 200},
		{"body without digest", signed{method: "POST", target: "/orders", date: now, headers: std}, "", "", "{}", 401},
		{"digest not signed", signed{method: "POST", target: "/orders", date: now, digest: digest("{}"), headers: std}, "", "", "{}", 401},
		{"body swapped", signed{method: "POST", target: "/orders", date: now, digest: digest("{}"), headers: std + " digest"}, "", "", `{"x":1}`, 401},
		{"other path", signed{method: "GET", target: "/orders?id=2", date: now, headers: std}, "/admin?id=2", "", "", 401},
		{"other method", signed{method: "POST", target: "/orders?id=3", date: now, headers: std}, "", "GET", "", 401},
		{"date too old", signed{method: "GET", target: "/orders?id=4", date: old, headers: std}, "", "", "", 401},
		{"date not signed", signed{method: "GET", target: "/orders?id=5", date: now, headers: "@request-target"}, "", "", "", 401},
		{"target not signed", signed{method: "GET", target: "/orders?id=6", date: now, headers: "date"}, "", "", "", 401},
		{"wrong secret", signed{method: "GET", target: "/orders?id=7", date: now, headers: std, secret: "guess"}, "", "", "", 401},
		{"unknown key", signed{method: "GET", target: "/orders?id=8", date: now, headers: std, key: "mallory"}, "", "", "", 401},
		{"algorithm not allowed", signed{method: "GET", target: "/orders?id=9", date: now, headers: std, alg: "hmac-sha1"}, "", "", "", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.s.target
			if tc.sendTo != "" {
				target = tc.sendTo
			}
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			method := tc.s.method
			if tc.sendAs != "" {
				method = tc.sendAs
			}
			res := ch.Do(plugintest.Request{Method: method, URL: target, Body: string(body), Header: tc.s.authorization()})
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			if res.Status == 200 && string(res.Sent.Header.Peek("X-Consumer-Name")) != "alice" {
				t.Fatalf("upstream saw consumer %q", res.Sent.Header.Peek("X-Consumer-Name"))
			}
			if res.Status == 401 {
				if !res.Stopped {
					t.Fatal("a refused request went on")
				}
				if !strings.HasPrefix(string(res.Response.Header.Peek("WWW-Authenticate")), "Signature ") {
					t.Fatalf("WWW-Authenticate %q", res.Response.Header.Peek("WWW-Authenticate"))
				}
				if strings.Contains(res.Body, secret) {
					t.Fatal("secret in body")
				}
			}
		})
	}
	for _, h := range []string{"Signature", "Signature ", `Signature keyId="alice-hmac"`, `Signature keyId=alice,signature=x`,
		`Signature keyId="alice-hmac",signature="!!!",headers="date"`, `Signature keyId="alice-hmac",signature="` + strings.Repeat("A", 3000) + `"`} {
		if res := ch.Do(plugintest.Request{URL: "/x", Header: []string{"Authorization", h, "Date", now}}); res.Status != 401 {
			t.Fatalf("%.40q: status %d, want 401: %s", h, res.Status, res.Body)
		}
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`algorithms = ["hmac-md5"]`, "test.toml:4: plugins[0].config.algorithms[0]:"},
		{`clock_skew = "forever"`, "test.toml:4: plugins[0].config.clock_skew:"},
		{`anonymous = "ghost"`, `test.toml:4: plugins[0].config.anonymous: unknown consumer "ghost"`},
	} {
		_, err := plugintest.Build("[[plugins]]\nname = \"hmac-auth\"\n[plugins.config]\n" + tc.config + "\n")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.config, err, tc.want)
		}
	}
}
