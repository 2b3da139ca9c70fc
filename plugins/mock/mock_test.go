package mock

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
)

func TestAnswers(t *testing.T) {
	cases := []struct {
		name, config             string
		status                   int
		body, contentType, extra string
	}{
		{"defaults", "", 200, "", "text/plain; charset=utf-8", ""},
		{"maintenance", `status = 503
body = "down for maintenance"
content_type = "text/html"
headers = { "Retry-After" = "120", "Cache-Control" = "no-store" }`, 503, "down for maintenance", "text/html", "Retry-After: 120|Cache-Control: no-store"},
		{"stub", `status = 201
body = '{"id":1}'
content_type = "application/json"`, 201, `{"id":1}`, "application/json", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.New(t, "[[plugins]]\nname = \"mock\"\n[plugins.config]\n"+tc.config+"\n")
			for _, method := range []string{"GET", "POST", "DELETE"} {
				res := ch.Do(plugintest.Request{Method: method, URL: "/anything?x=1", Body: "ignored"})
				if !res.Stopped || res.Sent != nil {
					t.Fatalf("%s: the upstream was called", method)
				}
				if res.Status != tc.status || res.Body != tc.body {
					t.Fatalf("%s: got %d %q, want %d %q", method, res.Status, res.Body, tc.status, tc.body)
				}
				if got := string(res.Response.Header.ContentType()); got != tc.contentType {
					t.Errorf("Content-Type %q, want %q", got, tc.contentType)
				}
				for _, h := range strings.Split(tc.extra, "|") {
					if name, value, ok := strings.Cut(h, ": "); ok && string(res.Response.Header.Peek(name)) != value {
						t.Errorf("%s %q, want %q", name, res.Response.Header.Peek(name), value)
					}
				}
			}
		})
	}
}

// A route with only a mock step needs no upstream: mock says it answers
// every request.
func TestAnswersEveryRequest(t *testing.T) {
	inst := plugintest.New(t, "[[plugins]]\nname = \"mock\"\n").Instances()[0]
	if r, ok := inst.(plugin.Responder); !ok || r.Answers() != plugin.AnswerAlways {
		t.Fatal("mock does not say it always answers")
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"status = 99", "test.toml:4: plugins[0].config.status: must be between 100 and 599, got 99"},
		{"status = 600", "test.toml:4: plugins[0].config.status: must be between 100 and 599, got 600"},
		{`headers = { "X-A" = "1\r\nSet-Cookie: a=b" }`, `test.toml:4: plugins[0].config.headers: invalid header "X-A"`},
		{`headers = { "" = "1" }`, `test.toml:4: plugins[0].config.headers: invalid header ""`},
		{`status = "503"`, "test.toml:4: plugins[0].config.status:"},
		{`stauts = 503`, `test.toml:4: plugins[0].config.stauts: unknown key (did you mean "status"?)`},
	} {
		_, err := plugintest.Build("[[plugins]]\nname = \"mock\"\n[plugins.config]\n" + tc.config + "\n")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.config, err, tc.want)
		}
	}
}
