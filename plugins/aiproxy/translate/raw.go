package translate

import (
	"github.com/moongate/moongate/core/jsonstr"
	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
)

// These functions edit a request body that goes to a provider of the same
// API kind as the client: the body is forwarded as the client wrote it,
// unknown fields included, with only the named member changed.

// SetModel returns body with its top-level "model" set to model (every
// occurrence, so a duplicated key cannot smuggle a second model past the
// gateway's choice). body must be a JSON object; the result is a new
// slice.
func SetModel(body []byte, model string) ([]byte, error) {
	return rawjson.Set(body, "model", jsonstr.Quote(nil, model))
}

// Model returns the top-level "model" of a request body ("" when there is
// none or it is not a string). With duplicated keys the last one counts,
// as in the providers' JSON decoders.
func Model(body []byte) string {
	s, ok := rawjson.AppendUnquote(nil, rawjson.Get(body, "model"))
	if !ok {
		return ""
	}
	return string(s)
}

// Streaming reports whether a request body asks for a streamed answer
// ("stream": true).
func Streaming(body []byte) bool {
	return string(rawjson.Get(body, "stream")) == "true"
}

// ForceIncludeUsage returns an OpenAI request body whose
// stream_options.include_usage is true, so that a streamed answer ends
// with a usage chunk the gateway can count, and reports whether the
// client had asked for it itself. When it had not, the gateway drops that
// chunk from the client's stream (usage.Stream.OpenAI tells which chunk it
// is). Other members of stream_options are kept.
func ForceIncludeUsage(body []byte) (out []byte, clientAsked bool, err error) {
	opts := rawjson.Get(body, "stream_options")
	if rawjson.IsNull(opts) || opts[0] != '{' {
		out, err = rawjson.Set(body, "stream_options", []byte(`{"include_usage":true}`))
		return out, false, err
	}
	if string(rawjson.Get(opts, "include_usage")) == "true" {
		return body, true, nil
	}
	newOpts, err := rawjson.Set(opts, "include_usage", []byte("true"))
	if err != nil {
		return nil, false, err
	}
	out, err = rawjson.Set(body, "stream_options", newOpts)
	return out, false, err
}
