package hmacauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/valyala/fasthttp"
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

func TestSignedRequests(t *testing.T) {
	u := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(string(ctx.Request.Header.Peek("X-Consumer-Name")))
	})
	g := gatewaytest.Start(t, `
[[consumers]]
name = "alice"
hmac_secrets = [{ key = "alice-hmac", secret = "`+secret+`" }]
[[upstreams]]
name = "app"
targets = [{ url = "`+u.URL+`" }]
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "hmac-auth"
  [routes.plugins.config]
  algorithms = ["hmac-sha256"]
`)
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
			status, got, resp := gatewaytest.Do(t, method, g.URL+target, body, tc.s.authorization()...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, got)
			}
			if status == 200 && string(got) != "alice" {
				t.Fatalf("upstream saw consumer %q", got)
			}
			if status == 401 {
				if !strings.HasPrefix(string(resp.Header.Peek("WWW-Authenticate")), "Signature ") {
					t.Fatalf("WWW-Authenticate %q", resp.Header.Peek("WWW-Authenticate"))
				}
				if strings.Contains(string(got), secret) {
					t.Fatal("secret in body")
				}
			}
		})
	}
	for _, h := range []string{"Signature", "Signature ", `Signature keyId="alice-hmac"`, `Signature keyId=alice,signature=x`,
		`Signature keyId="alice-hmac",signature="!!!",headers="date"`, `Signature keyId="alice-hmac",signature="` + strings.Repeat("A", 3000) + `"`} {
		if status, body, _ := gatewaytest.Do(t, "GET", g.URL+"/x", nil, "Authorization", h, "Date", now); status != 401 {
			t.Fatalf("%.40q: status %d, want 401: %s", h, status, body)
		}
	}
}
