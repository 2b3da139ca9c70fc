package translate

import (
	"strings"
	"testing"
)

// TestErrorToOpenAI maps every Anthropic error to what an OpenAI client
// expects: the status its SDK turns into the right exception, the type
// and code OpenAI uses, the message.
func TestErrorToOpenAI(t *testing.T) {
	for _, tc := range []struct {
		status     int
		typ        string
		wantStatus int
		want       string
	}{
		{400, "invalid_request_error", 400, `{"error":{"message":"m","type":"invalid_request_error","param":null,"code":null}}`},
		{401, "authentication_error", 401, `{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`},
		{402, "billing_error", 402, `{"error":{"message":"m","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`},
		{403, "permission_error", 403, `{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"permission_denied"}}`},
		{404, "not_found_error", 404, `{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"not_found"}}`},
		{413, "request_too_large", 413, `{"error":{"message":"m","type":"invalid_request_error","param":null,"code":"request_too_large"}}`},
		{429, "rate_limit_error", 429, `{"error":{"message":"m","type":"requests","param":null,"code":"rate_limit_exceeded"}}`},
		{500, "api_error", 500, `{"error":{"message":"m","type":"server_error","param":null,"code":null}}`},
		{504, "timeout_error", 504, `{"error":{"message":"m","type":"server_error","param":null,"code":"timeout"}}`},
		{529, "overloaded_error", 503, `{"error":{"message":"m","type":"server_error","param":null,"code":"overloaded"}}`},
		{422, "invalid_request_error", 422, `{"error":{"message":"m","type":"invalid_request_error","param":null,"code":null}}`},
		{502, "api_error", 502, `{"error":{"message":"m","type":"server_error","param":null,"code":null}}`},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			body := `{"type":"error","error":{"type":"` + tc.typ + `","message":"m"},"request_id":"req_1"}`
			status, out := ErrorToOpenAI(tc.status, []byte(body))
			if status != tc.wantStatus || string(out) != tc.want {
				t.Fatalf("got %d %s\nwant %d %s", status, out, tc.wantStatus, tc.want)
			}
		})
	}
}

// TestErrorToAnthropic maps every OpenAI error to what an Anthropic
// client expects.
func TestErrorToAnthropic(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantType   string
	}{
		{"400", 400, `{"error":{"message":"m","type":"invalid_request_error","param":"messages","code":null}}`, 400, "invalid_request_error"},
		{"400 context length", 400, `{"error":{"message":"m","type":"invalid_request_error","code":"context_length_exceeded"}}`, 400, "invalid_request_error"},
		{"401", 401, `{"error":{"message":"m","type":"invalid_request_error","code":"invalid_api_key"}}`, 401, "authentication_error"},
		{"403", 403, `{"error":{"message":"m","type":"invalid_request_error","code":"unsupported_country_region_territory"}}`, 403, "permission_error"},
		{"404", 404, `{"error":{"message":"m","type":"invalid_request_error","code":"model_not_found"}}`, 404, "not_found_error"},
		{"408", 408, `{"error":{"message":"m","type":"server_error"}}`, 408, "timeout_error"},
		{"409", 409, `{"error":{"message":"m","type":"invalid_request_error"}}`, 409, "invalid_request_error"},
		{"413", 413, `{"error":{"message":"m"}}`, 413, "request_too_large"},
		{"429 rate limit", 429, `{"error":{"message":"m","type":"requests","code":"rate_limit_exceeded"}}`, 429, "rate_limit_error"},
		{"429 quota", 429, `{"error":{"message":"m","type":"insufficient_quota","code":"insufficient_quota"}}`, 429, "rate_limit_error"},
		{"500", 500, `{"error":{"message":"m","type":"server_error"}}`, 500, "api_error"},
		{"502", 502, `{"error":{"message":"m"}}`, 502, "api_error"},
		{"503 overloaded", 503, `{"error":{"message":"m","type":"server_error"}}`, 529, "overloaded_error"},
		{"504", 504, `{"error":{"message":"m"}}`, 504, "timeout_error"},
		{"string error (some compatible servers)", 500, `{"error":"m"}`, 500, "api_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := ErrorToAnthropic(tc.status, []byte(tc.body))
			want := `{"type":"error","error":{"type":"` + tc.wantType + `","message":"m"}}`
			if status != tc.wantStatus || string(out) != want {
				t.Fatalf("got %d %s\nwant %d %s", status, out, tc.wantStatus, want)
			}
		})
	}
}

// TestErrorRoundTrip: an error translated to the other API and back keeps
// its status and type.
func TestErrorRoundTrip(t *testing.T) {
	for _, status := range []int{400, 401, 402, 403, 404, 408, 413, 429, 500, 502, 503, 504} {
		s1, b1 := ErrorToAnthropic(status, []byte(`{"error":{"message":"m"}}`))
		s2, _ := ErrorToOpenAI(s1, b1)
		if s2 != status {
			t.Errorf("OpenAI %d → Anthropic %d → OpenAI %d", status, s1, s2)
		}
	}
	for _, status := range []int{400, 401, 402, 403, 404, 413, 429, 500, 504, 529} {
		s1, b1 := ErrorToOpenAI(status, AnthropicError(status, "m"))
		s2, b2 := ErrorToAnthropic(s1, b1)
		if s2 != status || string(b2) != string(AnthropicError(status, "m")) {
			t.Errorf("Anthropic %d → OpenAI %d → Anthropic %d %s", status, s1, s2, b2)
		}
	}
}

// TestErrorBodiesNotJSON: a body that is not the API's error shape (a
// proxy's HTML page) still gives a well-formed error with a generic
// message.
func TestErrorBodiesNotJSON(t *testing.T) {
	status, out := ErrorToOpenAI(502, []byte("<html>Bad Gateway</html>"))
	if status != 502 || string(out) != `{"error":{"message":"the provider answered 502 Bad Gateway","type":"server_error","param":null,"code":null}}` {
		t.Fatalf("got %d %s", status, out)
	}
	status, out = ErrorToAnthropic(429, nil)
	if status != 429 || string(out) != `{"type":"error","error":{"type":"rate_limit_error","message":"the provider answered 429 Too Many Requests"}}` {
		t.Fatalf("got %d %s", status, out)
	}
}

// TestProviderKeysAreRedacted: a provider message that quotes a key (as
// OpenAI's 401 does) reaches the client without it.
func TestProviderKeysAreRedacted(t *testing.T) {
	key := "sk-proj-AbCdEfGh1234567890abcdefGHIJ"
	_, out := ErrorToAnthropic(401, []byte(`{"error":{"message":"Incorrect API key provided: `+key+`. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}`))
	if strings.Contains(string(out), "AbCdEfGh") || !strings.Contains(string(out), "Incorrect API key provided: [redacted].") {
		t.Fatalf("got %s", out)
	}
	_, out = ErrorToOpenAI(401, []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key sk-ant-api03-XyZ_secret-123456 and Bearer abc.def.ghijklmnop"}}`))
	if strings.Contains(string(out), "secret") || strings.Contains(string(out), "ghijklmnop") {
		t.Fatalf("got %s", out)
	}
	for _, keep := range []string{"task-1234567890 done", "risk-free", "sk-short"} {
		if got := Redact(keep); got != keep {
			t.Errorf("Redact(%q) = %q", keep, got)
		}
	}
}

// TestGatewayErrors: the gateway's own errors in either shape.
func TestGatewayErrors(t *testing.T) {
	if got := string(OpenAIError(401, "invalid consumer key")); got != `{"error":{"message":"invalid consumer key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}` {
		t.Fatalf("got %s", got)
	}
	if got := string(AnthropicError(429, "token limit reached")); got != `{"type":"error","error":{"type":"rate_limit_error","message":"token limit reached"}}` {
		t.Fatalf("got %s", got)
	}
	if got := string(AnthropicError(503, "no provider available")); got != `{"type":"error","error":{"type":"overloaded_error","message":"no provider available"}}` {
		t.Fatalf("got %s", got)
	}
}
