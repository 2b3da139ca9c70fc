package usage

import (
	"bytes"

	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
)

// Tokens is the usage of one request.
type Tokens struct {
	// Prompt is every input token, cached ones included.
	Prompt int64
	// Completion is every output token (reasoning tokens included).
	Completion int64
	// Total is Prompt + Completion (or what an OpenAI provider reported).
	Total int64
	// CachedPrompt is the part of Prompt read from the prompt cache.
	CachedPrompt int64
	// CacheWrite is the part of Prompt written to the prompt cache
	// (Anthropic's cache_creation_input_tokens).
	CacheWrite int64
}

// Anthropic holds the four numbers of an Anthropic usage object.
type Anthropic struct {
	Input, Output, CacheRead, CacheWrite int64
}

// Tokens converts Anthropic's numbers to Tokens.
func (a Anthropic) Tokens() Tokens {
	p := a.Input + a.CacheRead + a.CacheWrite
	return Tokens{Prompt: p, Completion: a.Output, Total: p + a.Output, CachedPrompt: a.CacheRead, CacheWrite: a.CacheWrite}
}

// AnthropicOf converts Tokens back to Anthropic's numbers: input_tokens is
// the prompt less what was read from or written to the cache.
func AnthropicOf(t Tokens) Anthropic {
	in := t.Prompt - t.CachedPrompt - t.CacheWrite
	if in < 0 {
		in = 0
	}
	return Anthropic{Input: in, Output: t.Completion, CacheRead: t.CachedPrompt, CacheWrite: t.CacheWrite}
}

// Merge reads the members present in the usage object obj into a; absent
// or null members leave a's numbers as they are. It reports whether obj
// is an object.
func (a *Anthropic) Merge(obj []byte) bool {
	it := rawjson.Object(obj)
	for it.Next() {
		var dst *int64
		switch {
		case it.KeyIs("input_tokens"):
			dst = &a.Input
		case it.KeyIs("output_tokens"):
			dst = &a.Output
		case it.KeyIs("cache_read_input_tokens"):
			dst = &a.CacheRead
		case it.KeyIs("cache_creation_input_tokens"):
			dst = &a.CacheWrite
		default:
			continue
		}
		if n, ok := rawjson.Int(it.Value()); ok {
			*dst = n
		}
	}
	return it.Err() == nil
}

// OpenAIUsage reads an OpenAI usage object. A missing total_tokens is
// computed.
func OpenAIUsage(obj []byte) (Tokens, bool) {
	var t Tokens
	total := false
	it := rawjson.Object(obj)
	for it.Next() {
		v := it.Value()
		switch {
		case it.KeyIs("prompt_tokens"):
			t.Prompt, _ = rawjson.Int(v)
		case it.KeyIs("completion_tokens"):
			t.Completion, _ = rawjson.Int(v)
		case it.KeyIs("total_tokens"):
			t.Total, total = rawjson.Int(v)
		case it.KeyIs("prompt_tokens_details"):
			d := rawjson.Object(v)
			for d.Next() {
				switch {
				case d.KeyIs("cached_tokens"):
					t.CachedPrompt, _ = rawjson.Int(d.Value())
				case d.KeyIs("cache_write_tokens"):
					t.CacheWrite, _ = rawjson.Int(d.Value())
				}
			}
		}
	}
	if it.Err() != nil {
		return Tokens{}, false
	}
	if !total {
		t.Total = t.Prompt + t.Completion
	}
	return t, true
}

// FromOpenAI returns the usage of an OpenAI JSON answer (chat completion,
// embeddings, or a stream chunk's data), false when it has none.
func FromOpenAI(body []byte) (Tokens, bool) {
	u := rawjson.Get(body, "usage")
	if rawjson.IsNull(u) {
		return Tokens{}, false
	}
	return OpenAIUsage(u)
}

// FromAnthropic returns the usage of an Anthropic messages answer, false
// when it has none.
func FromAnthropic(body []byte) (Tokens, bool) {
	u := rawjson.Get(body, "usage")
	if rawjson.IsNull(u) {
		return Tokens{}, false
	}
	var a Anthropic
	if !a.Merge(u) {
		return Tokens{}, false
	}
	return a.Tokens(), true
}

var usageKey = []byte(`"usage"`)

// Stream accumulates the usage of a streamed answer. Feed it the data of
// every event with OpenAI or Anthropic (one kind per stream). It does not
// allocate. The zero value is ready; Reset makes it ready for another
// stream.
type Stream struct {
	tokens Tokens
	a      Anthropic
	seen   bool
}

// Reset forgets what the stream saw.
func (s *Stream) Reset() { *s = Stream{} }

// OpenAI reads one chunk's data. It reports whether the chunk is the
// usage chunk a client gets when it asked stream_options.include_usage
// (usage set, no choices), which a proxy that asked for usage on the
// client's behalf drops. Providers that put usage into every chunk (some
// OpenAI-compatible servers) are handled too: the last numbers win.
func (s *Stream) OpenAI(data []byte) (usageChunk bool) {
	i := bytes.Index(data, usageKey)
	if i < 0 || nullOnly(data, i) {
		return false
	}
	var u []byte
	choices := false
	it := rawjson.Object(data)
	for it.Next() {
		switch {
		case it.KeyIs("usage"):
			u = it.Value()
		case it.KeyIs("choices"):
			c := rawjson.Array(it.Value())
			choices = c.Next()
		}
	}
	if it.Err() != nil || rawjson.IsNull(u) {
		return false
	}
	if t, ok := OpenAIUsage(u); ok {
		s.tokens, s.seen = t, true
	}
	return !choices
}

// nullOnly reports whether the occurrence of "usage" at data[i] is
// followed by :null and is the only one: the "usage":null of every chunk
// but the last, which needs no parsing. (A quote cannot appear unescaped
// inside a JSON string, so the key cannot be hiding in the text.)
func nullOnly(data []byte, i int) bool {
	j := i + len(usageKey)
	for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
		j++
	}
	if j >= len(data) || data[j] != ':' {
		return false
	}
	j++
	for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
		j++
	}
	return bytes.HasPrefix(data[j:], []byte("null")) && !bytes.Contains(data[j:], usageKey)
}

// Anthropic reads one event's data: message_start carries the input
// numbers, message_delta the cumulative output (and, in recent API
// versions, updated input) numbers.
func (s *Stream) Anthropic(data []byte) {
	if !bytes.Contains(data, usageKey) {
		return
	}
	var typ, msg, u []byte
	it := rawjson.Object(data)
	for it.Next() {
		switch {
		case it.KeyIs("type"):
			typ = it.Value()
		case it.KeyIs("message"):
			msg = it.Value()
		case it.KeyIs("usage"):
			u = it.Value()
		}
	}
	if it.Err() != nil {
		return
	}
	switch {
	case rawjson.StringIs(typ, "message_start"):
		u = rawjson.Get(msg, "usage")
	case rawjson.StringIs(typ, "message_delta"):
	default:
		return
	}
	if rawjson.IsNull(u) {
		return
	}
	if s.a.Merge(u) {
		s.tokens, s.seen = s.a.Tokens(), true
	}
}

// Tokens returns the usage seen so far, false when the stream has shown
// none.
func (s *Stream) Tokens() (Tokens, bool) { return s.tokens, s.seen }
