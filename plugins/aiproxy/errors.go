package aiproxy

import (
	"bytes"
	"strconv"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
	"github.com/moongate/moongate/plugins/aiproxy/translate"
)

func init() { plugin.Register("ai-errors", newErrorShaper) }

// endpoint is what a request asks of the AI API, read from the end of
// its path, so that a route may be mounted under any prefix.
type endpoint uint8

const (
	epNone       endpoint = iota
	epChat                // .../chat/completions (OpenAI)
	epMessages            // .../messages (Anthropic)
	epEmbeddings          // .../embeddings (OpenAI)
	epModels              // .../models (OpenAI, or Anthropic's list)
)

// suffix is the end of the provider path of ep (OpenAI-shaped providers).
func (ep endpoint) suffix() string {
	if ep == epEmbeddings {
		return "/embeddings"
	}
	return "/chat/completions"
}

func endpointOf(path []byte) endpoint {
	switch {
	case bytes.HasSuffix(path, []byte("/chat/completions")):
		return epChat
	case bytes.HasSuffix(path, []byte("/messages")):
		return epMessages
	case bytes.HasSuffix(path, []byte("/embeddings")):
		return epEmbeddings
	case bytes.HasSuffix(path, []byte("/models")):
		return epModels
	}
	return epNone
}

// clientKind is the API a request speaks: Anthropic's for .../messages
// (and, for GET .../models, when it carries anthropic-version), OpenAI's
// otherwise.
func clientKind(c *plugin.Context, ep endpoint) apiKind {
	if ep == epMessages || ep == epModels && len(c.Request.Header.Peek("anthropic-version")) > 0 {
		return kindAnthropic
	}
	return kindOpenAI
}

// errorBody returns the body of an error of the gateway itself in the
// shape of the client's API.
func errorBody(kind apiKind, status int, message string) []byte {
	if kind == kindAnthropic {
		return translate.AnthropicError(status, message)
	}
	return translate.OpenAIError(status, message)
}

// respondError answers with an error of the gateway in the client's
// shape; retry > 0 adds Retry-After (seconds).
func respondError(c *plugin.Context, kind apiKind, status int, message string, retry int64) {
	c.Respond(status, "application/json", errorBody(kind, status, message))
	if retry > 0 {
		c.Response.Header.Set("Retry-After", strconv.FormatInt(retry, 10))
	}
}

// errorShaper is the ai-errors step: placed before the authentication
// and limit steps of an AI route, it rewrites the gateway's own JSON
// errors that they answer ({"error":"invalid API key","status":401}) into
// the error shape of the request's AI API, keeping the status and the
// headers (WWW-Authenticate, Retry-After), so that the client SDKs raise
// their own errors (AuthenticationError for a wrong client key). The
// request phase of ai-proxy does not run for a request such a step
// refused, so ai-proxy's own response phase could not do this.
type errorShaper struct{}

var _ plugin.ResponseHandler = errorShaper{}

func newErrorShaper(spec plugin.Spec) (any, error) {
	if err := spec.Config.Decode(&struct{}{}); err != nil {
		return nil, err
	}
	return errorShaper{}, nil
}

// OnResponse implements plugin.ResponseHandler.
func (errorShaper) OnResponse(c *plugin.Context) error {
	status := c.Response.StatusCode()
	if status < 400 || c.Response.IsBodyStream() {
		return nil
	}
	body := c.Response.Body()
	msg := rawjson.Get(body, "error")
	if !rawjson.IsString(msg) || rawjson.Get(body, "status") == nil {
		return nil // not the gateway's format: an AI answer, or the upstream's
	}
	text, _ := rawjson.AppendUnquote(nil, msg)
	ep := endpointOf(c.Path())
	c.Response.SetBody(errorBody(clientKind(c, ep), status, string(text)))
	c.Response.Header.SetContentType("application/json")
	return nil
}
