package requesttermination

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
)

func TestAnswers(t *testing.T) {
	cases := []struct {
		name, config, body, contentType, retryAfter string
		status                                      int
	}{
		{"defaults", "", `{"error":"service unavailable","status":503}` + "\n", "application/json", "", 503},
		{"message and retry_after", `status = 410
message = "this API is gone: use /v2"
retry_after = "10m"`, `{"error":"this API is gone: use /v2","status":410}` + "\n", "application/json", "600", 410},
		{"body of its own", `status = 200
body = "<h1>back soon</h1>"
content_type = "text/html"
message = "not used"`, "<h1>back soon</h1>", "text/html", "", 200},
		{"body with the default type", `body = "later"`, "later", "text/plain; charset=utf-8", "", 503},
		{"message escaped", `message = "say \"no\" <b>"`, `{"error":"say \"no\" \u003cb\u003e","status":503}` + "\n", "application/json", "", 503},
		{"retry_after below a second", `retry_after = "500ms"`, `{"error":"service unavailable","status":503}` + "\n", "application/json", "", 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.New(t, "[[plugins]]\nname = \"request-termination\"\n[plugins.config]\n"+tc.config+"\n")
			res := ch.Do(plugintest.Request{Method: "POST", URL: "/orders", Body: "{}"})
			if !res.Stopped || res.Sent != nil {
				t.Fatal("the upstream was called")
			}
			if res.Status != tc.status || res.Body != tc.body {
				t.Fatalf("got %d %q\nwant %d %q", res.Status, res.Body, tc.status, tc.body)
			}
			if got := string(res.Response.Header.ContentType()); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := string(res.Response.Header.Peek("Retry-After")); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
		})
	}
}

func TestAnswersEveryRequest(t *testing.T) {
	inst := plugintest.New(t, "[[plugins]]\nname = \"request-termination\"\n").Instances()[0]
	if r, ok := inst.(plugin.Responder); !ok || r.Answers() != plugin.AnswerAlways {
		t.Fatal("request-termination does not say it always answers")
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"status = 1000", "test.toml:4: plugins[0].config.status: must be between 100 and 599, got 1000"},
		{`retry_after = "soon"`, "test.toml:4: plugins[0].config.retry_after:"},
		{`mesage = "x"`, `test.toml:4: plugins[0].config.mesage: unknown key (did you mean "message"?)`},
	} {
		_, err := plugintest.Build("[[plugins]]\nname = \"request-termination\"\n[plugins.config]\n" + tc.config + "\n")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.config, err, tc.want)
		}
	}
}
