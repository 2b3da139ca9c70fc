package translate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/moongate/moongate/plugins/aiproxy/anthropic"
	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
	"github.com/moongate/moongate/plugins/aiproxy/openai"
)

// Error is a request or answer that cannot be translated. Status is the
// HTTP status to answer the client with: 400 for a request that uses what
// the other API cannot express, 502 for a provider answer that cannot be
// read. Message is safe to show to the client.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func badGateway(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadGateway, Message: fmt.Sprintf(format, args...)}
}

// ErrorClass is what went wrong, in terms both APIs can express.
type ErrorClass uint8

// The classes, each with the status and error type of either API (see
// ProviderError.OpenAI and ProviderError.Anthropic).
const (
	ClassInvalidRequest ErrorClass = iota // 400 (other 4xx kept)
	ClassAuthentication                   // 401
	ClassBilling                          // 402
	ClassPermission                       // 403
	ClassNotFound                         // 404
	ClassTooLarge                         // 413
	ClassRateLimit                        // 429
	ClassServer                           // 500 (other 5xx kept)
	ClassTimeout                          // 504 (408 kept)
	ClassOverloaded                       // OpenAI 503, Anthropic 529
)

// ProviderError is an error answer of either API, read into terms both
// can express.
type ProviderError struct {
	Status  int // the status the provider answered with
	Class   ErrorClass
	Message string // the provider's message, with anything key-like redacted
}

// ParseOpenAIError reads an OpenAI-shaped error answer. A body that is not
// one (an HTML page of a proxy, say) gives a generic message.
func ParseOpenAIError(status int, body []byte) ProviderError {
	e := ProviderError{Status: status, Class: classOfStatus(status)}
	obj := rawjson.Get(body, "error")
	if msg := stringMember(obj, "message"); msg != "" {
		e.Message = msg
	} else if s, ok := rawjson.AppendUnquote(nil, obj); ok && len(s) > 0 {
		e.Message = string(s) // {"error": "text"}, as some servers answer
	}
	typ := stringMember(obj, "type")
	code := stringMember(obj, "code")
	switch {
	case code == "invalid_api_key":
		e.Class = ClassAuthentication
	case code == "insufficient_quota" || typ == "insufficient_quota":
		if status != http.StatusTooManyRequests {
			e.Class = ClassBilling
		}
	case status == 0:
		e.Class = classOfOpenAIType(typ)
	}
	e.finish()
	return e
}

// ParseAnthropicError reads an Anthropic-shaped error answer.
func ParseAnthropicError(status int, body []byte) ProviderError {
	e := ProviderError{Status: status, Class: classOfStatus(status)}
	obj := rawjson.Get(body, "error")
	e.Message = stringMember(obj, "message")
	if c, ok := classOfAnthropicType(stringMember(obj, "type")); ok {
		e.Class = c
	}
	e.finish()
	return e
}

func (e *ProviderError) finish() {
	if e.Message == "" {
		if e.Status > 0 {
			e.Message = fmt.Sprintf("the provider answered %d %s", e.Status, http.StatusText(e.Status))
		} else {
			e.Message = "the provider reported an error"
		}
	}
	e.Message = Redact(e.Message)
}

func stringMember(obj []byte, key string) string {
	v := rawjson.Get(obj, key)
	s, ok := rawjson.AppendUnquote(nil, v)
	if !ok {
		return ""
	}
	return string(s)
}

func classOfStatus(status int) ErrorClass {
	switch status {
	case 401:
		return ClassAuthentication
	case 402:
		return ClassBilling
	case 403:
		return ClassPermission
	case 404:
		return ClassNotFound
	case 408, 504:
		return ClassTimeout
	case 413:
		return ClassTooLarge
	case 429:
		return ClassRateLimit
	case 503, 529:
		return ClassOverloaded
	}
	if status >= 500 || status == 0 {
		return ClassServer
	}
	return ClassInvalidRequest
}

func classOfAnthropicType(t string) (ErrorClass, bool) {
	switch t {
	case anthropic.ErrInvalidRequest:
		return ClassInvalidRequest, true
	case anthropic.ErrAuthentication:
		return ClassAuthentication, true
	case anthropic.ErrBilling:
		return ClassBilling, true
	case anthropic.ErrPermission:
		return ClassPermission, true
	case anthropic.ErrNotFound:
		return ClassNotFound, true
	case anthropic.ErrRequestTooLarge:
		return ClassTooLarge, true
	case anthropic.ErrRateLimit:
		return ClassRateLimit, true
	case anthropic.ErrAPI:
		return ClassServer, true
	case anthropic.ErrTimeout:
		return ClassTimeout, true
	case anthropic.ErrOverloaded:
		return ClassOverloaded, true
	}
	return 0, false
}

// classOfOpenAIType classifies an error that came without a status (an
// error chunk inside a stream).
func classOfOpenAIType(t string) ErrorClass {
	switch t {
	case "invalid_request_error":
		return ClassInvalidRequest
	case "authentication_error":
		return ClassAuthentication
	case "insufficient_quota":
		return ClassBilling
	case "permission_error":
		return ClassPermission
	case "not_found_error":
		return ClassNotFound
	case "requests", "tokens", "rate_limit_error", "rate_limit_exceeded":
		return ClassRateLimit
	case "timeout":
		return ClassTimeout
	case "overloaded", "overloaded_error":
		return ClassOverloaded
	}
	return ClassServer
}

// OpenAI returns the status and body an OpenAI client gets for e.
func (e ProviderError) OpenAI() (int, []byte) {
	status, typ, code := e.openAIShape()
	return status, openAIErrorBody(e.Message, typ, code)
}

func (e ProviderError) openAIShape() (status int, typ, code string) {
	switch e.Class {
	case ClassAuthentication:
		return 401, "invalid_request_error", "invalid_api_key"
	case ClassBilling:
		return 402, "insufficient_quota", "insufficient_quota"
	case ClassPermission:
		return 403, "invalid_request_error", "permission_denied"
	case ClassNotFound:
		return 404, "invalid_request_error", "not_found"
	case ClassTooLarge:
		return 413, "invalid_request_error", "request_too_large"
	case ClassRateLimit:
		return 429, "requests", "rate_limit_exceeded"
	case ClassTimeout:
		return keep(e.Status, 408, 504), "server_error", "timeout"
	case ClassOverloaded:
		return 503, "server_error", "overloaded"
	case ClassServer:
		return inRange(e.Status, 500, 599, 500), "server_error", ""
	}
	return inRange(e.Status, 400, 499, 400), "invalid_request_error", ""
}

// Anthropic returns the status and body an Anthropic client gets for e.
func (e ProviderError) Anthropic() (int, []byte) {
	status, typ := e.anthropicShape()
	return status, anthropicErrorBody(typ, e.Message)
}

func (e ProviderError) anthropicShape() (int, string) {
	switch e.Class {
	case ClassAuthentication:
		return 401, anthropic.ErrAuthentication
	case ClassBilling:
		return 402, anthropic.ErrBilling
	case ClassPermission:
		return 403, anthropic.ErrPermission
	case ClassNotFound:
		return 404, anthropic.ErrNotFound
	case ClassTooLarge:
		return 413, anthropic.ErrRequestTooLarge
	case ClassRateLimit:
		return 429, anthropic.ErrRateLimit
	case ClassTimeout:
		return keep(e.Status, 408, 504), anthropic.ErrTimeout
	case ClassOverloaded:
		return 529, anthropic.ErrOverloaded
	case ClassServer:
		return inRange(e.Status, 500, 599, 500), anthropic.ErrAPI
	}
	return inRange(e.Status, 400, 499, 400), anthropic.ErrInvalidRequest
}

func keep(status, a, b int) int {
	if status == a {
		return a
	}
	return b
}

func inRange(status, lo, hi, def int) int {
	if status >= lo && status <= hi {
		return status
	}
	return def
}

// ErrorToOpenAI translates an Anthropic error answer into the status and
// body an OpenAI client expects.
func ErrorToOpenAI(status int, body []byte) (int, []byte) {
	return ParseAnthropicError(status, body).OpenAI()
}

// ErrorToAnthropic translates an OpenAI error answer into the status and
// body an Anthropic client expects.
func ErrorToAnthropic(status int, body []byte) (int, []byte) {
	return ParseOpenAIError(status, body).Anthropic()
}

// OpenAIError returns the body of an OpenAI-shaped error answer with the
// given status, for errors of the gateway itself (a bad client key, a
// token limit, no provider available). Type and code follow the status as
// in ProviderError.OpenAI.
func OpenAIError(status int, message string) []byte {
	e := ProviderError{Status: status, Class: classOfStatus(status), Message: message}
	_, typ, code := e.openAIShape()
	return openAIErrorBody(message, typ, code)
}

// AnthropicError returns the body of an Anthropic-shaped error answer
// with the given status, for errors of the gateway itself.
func AnthropicError(status int, message string) []byte {
	e := ProviderError{Status: status, Class: classOfStatus(status), Message: message}
	_, typ := e.anthropicShape()
	return anthropicErrorBody(typ, message)
}

func openAIErrorBody(message, typ, code string) []byte {
	var c *string
	if code != "" {
		c = &code
	}
	b, _ := json.Marshal(openai.ErrorResponse{Error: openai.Error{Message: message, Type: typ, Code: c}})
	return b
}

func anthropicErrorBody(typ, message string) []byte {
	b, _ := json.Marshal(anthropic.ErrorResponse{Type: "error", Error: anthropic.Error{Type: typ, Message: message}})
	return b
}

// Redact replaces what looks like a provider API key in s ("sk-...",
// "sk-ant-...", "Bearer ...") with
// "[redacted]". Provider messages may quote the key they were given
// (OpenAI's 401 shows a masked one); none of it may reach a client.
func Redact(s string) string {
	if !strings.Contains(s, "sk-") && !strings.Contains(s, "Bearer ") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		n := secretAt(s, i)
		if n == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString("[redacted]")
		i += n
	}
	return b.String()
}

// secretAt returns the length of a key-like token starting at s[i], or 0.
func secretAt(s string, i int) int {
	if i > 0 && isKeyChar(s[i-1]) {
		return 0
	}
	rest := s[i:]
	var prefix int
	switch {
	case strings.HasPrefix(rest, "sk-"):
		prefix = 3
	case strings.HasPrefix(rest, "Bearer "):
		prefix = 7
	default:
		return 0
	}
	n := 0
	for prefix+n < len(rest) && isKeyChar(rest[prefix+n]) {
		n++
	}
	for n > 0 && rest[prefix+n-1] == '.' {
		n-- // the end of a sentence, not of the key
	}
	if n < 8 {
		return 0
	}
	return prefix + n
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*' || c == '.'
}
