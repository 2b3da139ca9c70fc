package accesslog_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/basicauth"
	_ "github.com/moongate/moongate/plugins/forwardauth"
	_ "github.com/moongate/moongate/plugins/hmacauth"
	_ "github.com/moongate/moongate/plugins/jwt"
	_ "github.com/moongate/moongate/plugins/multiauth"
	_ "github.com/moongate/moongate/plugins/requesttermination"
	_ "github.com/moongate/moongate/plugins/session"
	"github.com/valyala/fasthttp"
)

// No credential of any kind the auth plugins read reaches the access
// log, in any format: key-auth keys (header, query, query in another
// case, in a Referer), basic-auth passwords, JWTs (Authorization, query),
// hmac-auth signatures, session cookies (sent and set), forward-auth
// tokens, and the Authorization, Cookie and Set-Cookie headers of
// requests that were refused. Each request is sent with a valid
// credential and with a wrong one.
func TestNoCredentialReachesTheLog(t *testing.T) {
	const (
		basicPassword = "basic-pass-5e5e5e"
		jwtSecret     = "jwt-secret-0123456789abcdef0123456789"
		hmacSecret    = "hmac-secret-7a7a7a7a"
		sessionKey    = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		forwardToken  = "forward-token-4b4b4b"
		upstreamSid   = "upstream-session-9c9c9c"
	)
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Set-Cookie", "sid="+upstreamSid+"; HttpOnly")
		ctx.SetBodyString("ok")
	})
	auth := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Request.Header.Peek("Authorization")) != "Token "+forwardToken {
			ctx.SetStatusCode(401)
			return
		}
		ctx.Response.Header.Set("X-User-Id", "alice")
	})
	dir := t.TempDir()
	formats := []string{"json", "combined", everyVariable}
	files := make([]string, len(formats))
	for i := range formats {
		files[i] = filepath.Join(dir, "access"+strconv.Itoa(i)+".log")
	}
	g := gatewaytest.Start(t, `
[[plugins]]
name = "access-log"
[plugins.config]
output = "`+files[0]+`"
[[consumers]]
name = "alice"
keys = ["`+aliceKey+`"]
basic_auth = [{ username = "alice", password = "`+basicPassword+`" }]
jwt_secrets = [{ key = "alice-iss", secret = "`+jwtSecret+`", algorithm = "HS256" }]
hmac_secrets = [{ key = "alice-hmac", secret = "`+hmacSecret+`" }]
[[upstreams]]
name = "app"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
name = "key-header"
paths = ["/key-header"]
upstream = "app"
  [[routes.plugins]]
  name = "key-auth"
[[routes]]
name = "key-query"
paths = ["/key-query"]
upstream = "app"
  [[routes.plugins]]
  name = "key-auth"
  [routes.plugins.config]
  header = ""
  query = "apikey"
[[routes]]
name = "basic"
paths = ["/basic"]
upstream = "app"
  [[routes.plugins]]
  name = "basic-auth"
[[routes]]
name = "jwt"
paths = ["/jwt"]
upstream = "app"
  [[routes.plugins]]
  name = "multi-auth"
  [routes.plugins.config]
  [[routes.plugins.config.steps]]
  name = "jwt"
  [routes.plugins.config.steps.config]
  algorithms = ["HS256"]
  query = "token"
[[routes]]
name = "hmac"
paths = ["/hmac"]
upstream = "app"
  [[routes.plugins]]
  name = "hmac-auth"
[[routes]]
name = "login"
paths = ["/login"]
  [[routes.plugins]]
  name = "basic-auth"
  [[routes.plugins]]
  name = "session"
  [routes.plugins.config]
  mode = "login"
  keys = ["`+sessionKey+`"]
  [[routes.plugins]]
  name = "request-termination"
  [routes.plugins.config]
  status = 200
  message = "logged in"
[[routes]]
name = "session"
paths = ["/session"]
upstream = "app"
  [[routes.plugins]]
  name = "session"
  [routes.plugins.config]
  keys = ["`+sessionKey+`"]
[[routes]]
name = "forward"
paths = ["/forward"]
upstream = "app"
  [[routes.plugins]]
  name = "forward-auth"
  [routes.plugins.config]
  url = "`+auth.URL+`/verify"
  consumer_header = "X-User-Id"
`)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "alice-iss",
		"exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	basic := base64.StdEncoding.EncodeToString([]byte("alice:" + basicPassword))
	secrets := []string{aliceKey, basicPassword, basic, jwtSecret, token, hmacSecret, sessionKey, forwardToken,
		upstreamSid, "wrong-key-1f1f1f", "wrong-pass-2e2e2e", "wrong-cookie-3d3d3d", "wrong-signature-6f6f6f"}

	var sessionCookie string
	run := 0
	traffic := func() {
		run++
		target := "/hmac?id=" + strconv.Itoa(run) // a signature is accepted once
		type req struct {
			path    string
			status  int
			headers []string
		}
		date := time.Now().UTC().Format(http.TimeFormat)
		mac := hmac.New(sha256.New, []byte(hmacSecret))
		mac.Write([]byte("@request-target: get " + target + "\ndate: " + date))
		sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		secrets = append(secrets, sig)
		reqs := []req{
			{"/key-header", 200, []string{"X-API-Key", aliceKey}},
			{"/key-header", 401, []string{"X-API-Key", "wrong-key-1f1f1f"}},
			{"/key-query?apikey=" + aliceKey + "&page=1", 200, nil},
			{"/key-query?APIKEY=wrong-key-1f1f1f", 401, []string{"Referer", "https://x.test/?apikey=" + aliceKey}},
			{"/basic", 200, []string{"Authorization", "Basic " + basic}},
			{"/basic", 401, []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:wrong-pass-2e2e2e"))}},
			{"/jwt", 200, []string{"Authorization", "Bearer " + token}},
			{"/jwt?token=" + token, 200, nil},
			{"/jwt?TOKEN=" + token + "x", 401, nil},
			{target, 200, []string{"Date", date, "Authorization", `Signature keyId="alice-hmac",algorithm="hmac-sha256",headers="@request-target date",signature="` + sig + `"`}},
			{target, 401, []string{"Date", date, "Authorization", `Signature keyId="alice-hmac",algorithm="hmac-sha256",headers="@request-target date",signature="wrong-signature-6f6f6f"`}},
			{"/forward", 200, []string{"Authorization", "Token " + forwardToken}},
			{"/forward", 401, []string{"Authorization", "Token wrong-key-1f1f1f"}},
			{"/session", 401, []string{"Cookie", "moongate_session=wrong-cookie-3d3d3d"}},
		}
		status, _, resp := gatewaytest.Do(t, "GET", g.URL+"/login", nil, "Authorization", "Basic "+basic)
		if status != 200 {
			t.Fatalf("login: status %d", status)
		}
		sessionCookie = string(resp.Header.PeekCookie("moongate_session"))
		if sessionCookie == "" {
			t.Fatal("login: no session cookie")
		}
		value, _, _ := strings.Cut(strings.TrimPrefix(sessionCookie, "moongate_session="), ";")
		secrets = append(secrets, value)
		reqs = append(reqs, req{"/session", 200, []string{"Cookie", "moongate_session=" + value}})
		for _, r := range reqs {
			if status, _, _ := gatewaytest.Do(t, "GET", g.URL+r.path, nil, r.headers...); status != r.status {
				t.Errorf("%s %v: status %d, want %d", r.path, r.headers, status, r.status)
			}
		}
	}
	traffic()
	// The other formats, on the same traffic, by reloads.
	conf, err := os.ReadFile(g.File)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(formats); i++ {
		next := strings.Replace(string(conf), `output = "`+files[0]+`"`,
			`output = "`+files[i]+`"`+"\nformat = "+strconv.Quote(formats[i]), 1)
		if err := os.WriteFile(g.File, []byte(next), 0o600); err != nil {
			t.Fatal(err)
		}
		if res := g.Reload(); !res.OK {
			t.Fatalf("reload: %v", res.Messages)
		}
		traffic()
	}
	stop(t, g)
	for i, format := range formats {
		b, err := os.ReadFile(files[i])
		if err != nil {
			t.Fatal(err)
		}
		log := string(b)
		if n := strings.Count(log, "\n"); n < 16 {
			t.Errorf("%s: %d lines, want a line per request:\n%s", format, n, log)
		}
		if !strings.Contains(log, "alice") {
			t.Errorf("%s: no line names the consumer alice:\n%s", format, log)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(log, s) {
				t.Errorf("%s: the log holds the credential %q:\n%s", format, s, log)
			}
		}
	}
}

// everyVariable is a template of every variable.
const everyVariable = "$time $request_id $client_ip $method $path $query $request_uri $request $protocol $status " +
	"$bytes_sent $bytes_received $request_time $upstream $upstream_target $upstream_status $upstream_time " +
	"$retries $route $consumer $cache_status $user_agent $referer $traceparent $trace_id"
