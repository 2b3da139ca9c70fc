package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Message roles.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	RoleFunction  = "function" // legacy function calling
)

// Content part types.
const (
	PartText       = "text"
	PartImageURL   = "image_url"
	PartInputAudio = "input_audio"
	PartFile       = "file"
	PartRefusal    = "refusal"
)

// Finish reasons.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
	FinishFunctionCall  = "function_call"
)

// ObjectChatCompletion and ObjectChatCompletionChunk are the "object"
// values of a chat answer and of one streamed chunk.
const (
	ObjectChatCompletion      = "chat.completion"
	ObjectChatCompletionChunk = "chat.completion.chunk"
)

// ChatRequest is the body of POST /v1/chat/completions.
type ChatRequest struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`

	// Sampling. Temperature is 0 to 2 in OpenAI's API.
	Temperature      *float64           `json:"temperature,omitempty"`
	TopP             *float64           `json:"top_p,omitempty"`
	N                *int               `json:"n,omitempty"`
	Stop             Stop               `json:"stop,omitzero"`
	PresencePenalty  *float64           `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64           `json:"frequency_penalty,omitempty"`
	Seed             *int64             `json:"seed,omitempty"`
	LogitBias        map[string]float64 `json:"logit_bias,omitempty"`
	Logprobs         *bool              `json:"logprobs,omitempty"`
	TopLogprobs      *int               `json:"top_logprobs,omitempty"`

	// MaxTokens is the older name of MaxCompletionTokens; OpenAI's
	// reasoning models accept only the newer one, many OpenAI-compatible
	// servers only the older.
	MaxTokens           *int `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int `json:"max_completion_tokens,omitempty"`

	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`

	Tools             []Tool          `json:"tools,omitempty"`
	ToolChoice        *ToolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat    *ResponseFormat `json:"response_format,omitempty"`

	User            string            `json:"user,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	Store           *bool             `json:"store,omitempty"`
	ReasoningEffort string            `json:"reasoning_effort,omitempty"`
	ServiceTier     string            `json:"service_tier,omitempty"`

	// Legacy function calling, kept so that it can be recognised.
	Functions    json.RawMessage `json:"functions,omitempty"`
	FunctionCall json.RawMessage `json:"function_call,omitempty"`
}

// StreamOptions is the "stream_options" object of a streamed request.
type StreamOptions struct {
	// IncludeUsage asks for one last chunk, with empty choices, that
	// carries the usage of the whole request.
	IncludeUsage bool `json:"include_usage,omitempty"`
}

// MaxOutputTokens returns max_completion_tokens, or max_tokens when only
// that is set, and whether either was.
func (r *ChatRequest) MaxOutputTokens() (int, bool) {
	switch {
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens, true
	case r.MaxTokens != nil:
		return *r.MaxTokens, true
	}
	return 0, false
}

// IncludeUsage reports whether a streamed request asked for the usage
// chunk.
func (r *ChatRequest) IncludeUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// Message is one message of the conversation.
type Message struct {
	Role string `json:"role"`
	// Content is required for system, developer, user and tool messages;
	// an assistant message that only calls tools may have none.
	Content    Content    `json:"content,omitzero"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"` // role "tool"
	Refusal    *string    `json:"refusal,omitempty"`
	// FunctionCall is the legacy form of ToolCalls.
	FunctionCall json.RawMessage `json:"function_call,omitempty"`
}

// Content is a message's content: a string (Text non-nil), an array of
// parts (Parts non-nil), or absent/null (both nil).
type Content struct {
	Text  *string
	Parts []ContentPart
}

// TextContent returns string content.
func TextContent(s string) Content { return Content{Text: &s} }

// IsZero reports whether the content is absent or null.
func (c Content) IsZero() bool { return c.Text == nil && c.Parts == nil }

// JoinText returns the text of the content: the string, or the text (and
// refusal) parts joined by sep.
func (c Content) JoinText(sep string) string {
	if c.Text != nil {
		return *c.Text
	}
	var b strings.Builder
	for i, p := range c.Parts {
		if i > 0 {
			b.WriteString(sep)
		}
		switch p.Type {
		case PartText:
			b.WriteString(p.Text)
		case PartRefusal:
			b.WriteString(p.Refusal)
		}
	}
	return b.String()
}

// MarshalJSON writes the string, the array of parts, or null.
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case c.Text != nil:
		return json.Marshal(*c.Text)
	case c.Parts != nil:
		return json.Marshal(c.Parts)
	}
	return []byte("null"), nil
}

// UnmarshalJSON accepts a string, an array of parts or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		c.Text = &s
		return nil
	case b[0] == '[':
		parts := []ContentPart{}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		c.Parts = parts
		return nil
	}
	return errors.New("content must be a string, an array of content parts or null")
}

// ContentPart is one element of an array content.
type ContentPart struct {
	Type       string      `json:"type"`
	Text       string      `json:"text,omitempty"`        // "text"
	ImageURL   *ImageURL   `json:"image_url,omitempty"`   // "image_url"
	InputAudio *InputAudio `json:"input_audio,omitempty"` // "input_audio"
	File       *File       `json:"file,omitempty"`        // "file"
	Refusal    string      `json:"refusal,omitempty"`     // "refusal"
}

// MarshalJSON writes the part; a text part always has its "text" member,
// even when empty.
func (p ContentPart) MarshalJSON() ([]byte, error) {
	type plain ContentPart
	if p.Type == PartText {
		return json.Marshal(struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}{p.Type, p.Text})
	}
	return json.Marshal(plain(p))
}

// ImageURL is an image given by URL: http(s) or a data URL
// ("data:image/png;base64,...").
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"` // "auto", "low", "high"
}

// InputAudio is base64 audio in a user message.
type InputAudio struct {
	Data   string `json:"data"`
	Format string `json:"format"` // "wav", "mp3"
}

// File is a file in a user message: inline as a data URL, or by ID.
type File struct {
	FileData string `json:"file_data,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// ToolCall is a call of a function tool in an assistant message.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"` // "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and carries its arguments as a JSON
// text (a string holding a JSON object).
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is a tool the model may call.
type Tool struct {
	Type     string       `json:"type"` // "function"; "custom" tools exist too
	Function *FunctionDef `json:"function,omitempty"`
	// Custom holds a "custom" tool's definition, unchanged.
	Custom json.RawMessage `json:"custom,omitempty"`
}

// FunctionDef defines a function tool. Parameters is a JSON Schema object.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Tool choice modes.
const (
	ToolChoiceNone     = "none"
	ToolChoiceAuto     = "auto"
	ToolChoiceRequired = "required"
)

// ToolChoice is "none", "auto", "required", or a named function
// ({"type":"function","function":{"name":...}}), in which case Function
// holds the name.
type ToolChoice struct {
	Mode     string
	Function string
}

// MarshalJSON writes the mode string or the named-function object.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Function != "" {
		v := struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}{Type: "function"}
		v.Function.Name = t.Function
		return json.Marshal(v)
	}
	return json.Marshal(t.Mode)
}

// UnmarshalJSON accepts the mode string or the named-function object.
func (t *ToolChoice) UnmarshalJSON(b []byte) error {
	*t = ToolChoice{}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &t.Mode)
	}
	var v struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Type != "function" || v.Function.Name == "" {
		return fmt.Errorf("tool_choice: want \"none\", \"auto\", \"required\" or a function name, got type %q", v.Type)
	}
	t.Function = v.Function.Name
	return nil
}

// Stop is the "stop" parameter: up to 4 sequences (OpenAI's limit; other
// servers allow more), written as a string or a list.
type Stop []string

// UnmarshalJSON accepts a string, a list of strings or null.
func (s *Stop) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = Stop{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("stop must be a string or a list of strings")
	}
	*s = list
	return nil
}

// ResponseFormat is "response_format": {"type":"text"},
// {"type":"json_object"} or {"type":"json_schema","json_schema":{...}}.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is the json_schema member of a response format.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ChatResponse is a non-streamed answer of POST /v1/chat/completions.
type ChatResponse struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"` // "chat.completion"
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
	ServiceTier       string   `json:"service_tier,omitempty"`
}

// Choice is one answer of a ChatResponse.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

// MarshalJSON writes the choice, with "logprobs": null when there are
// none, as OpenAI does.
func (c Choice) MarshalJSON() ([]byte, error) {
	type plain Choice
	if len(c.Logprobs) == 0 {
		c.Logprobs = json.RawMessage("null")
	}
	return json.Marshal(plain(c))
}

// ResponseMessage is the assistant message of a Choice. Content is null
// when the model only called tools.
type ResponseMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	Refusal   *string    `json:"refusal"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// Usage counts the tokens of a request. PromptTokens includes the cached
// ones.
type Usage struct {
	PromptTokens            int64                    `json:"prompt_tokens"`
	CompletionTokens        int64                    `json:"completion_tokens"`
	TotalTokens             int64                    `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails breaks prompt tokens down.
type PromptTokensDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
	// CacheWriteTokens counts prompt tokens written to the provider's
	// prompt cache, where the provider reports it.
	CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
	AudioTokens      int64 `json:"audio_tokens,omitempty"`
}

// CompletionTokensDetails breaks completion tokens down.
type CompletionTokensDetails struct {
	ReasoningTokens          int64 `json:"reasoning_tokens"`
	AudioTokens              int64 `json:"audio_tokens,omitempty"`
	AcceptedPredictionTokens int64 `json:"accepted_prediction_tokens,omitempty"`
	RejectedPredictionTokens int64 `json:"rejected_prediction_tokens,omitempty"`
}

// ChatChunk is one event of a streamed answer. The last chunk of a stream
// that asked for usage has no choices and a non-null Usage; the stream
// then ends with the data "[DONE]".
type ChatChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"` // "chat.completion.chunk"
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`
}

// ChunkChoice is the part of one choice in a chunk. FinishReason is null
// until the last chunk of the choice.
type ChunkChoice struct {
	Index        int             `json:"index"`
	Delta        Delta           `json:"delta"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// Delta is what a chunk adds to the message. The first chunk carries the
// role; tool calls arrive in pieces keyed by Index: the first piece has
// the ID, type and name, later ones more of the arguments.
type Delta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	Refusal   *string         `json:"refusal,omitempty"`
	ToolCalls []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta is a piece of a tool call in a stream.
type ToolCallDelta struct {
	Index    int            `json:"index"`
	ID       string         `json:"id,omitempty"`
	Type     string         `json:"type,omitempty"`
	Function *FunctionDelta `json:"function,omitempty"`
}

// FunctionDelta is a piece of a streamed function call.
type FunctionDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// ParseChatRequest decodes a chat completions request body. The error
// names what is wrong, for a 400 answer.
func ParseChatRequest(body []byte) (*ChatRequest, error) {
	var r ChatRequest
	if err := decode(body, &r); err != nil {
		return nil, err
	}
	if r.Model == "" {
		return nil, errors.New("model is required")
	}
	if len(r.Messages) == 0 {
		return nil, errors.New("messages must be a non-empty array")
	}
	return &r, nil
}

// decode unmarshals one JSON object and rewords encoding/json's errors so
// that they name the field and not Go types.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return fmt.Errorf("%s: wrong type (%s)", te.Field, te.Value)
		case errors.As(err, &te):
			return fmt.Errorf("request body must be a JSON object, got %s", te.Value)
		case errors.As(err, &se):
			return fmt.Errorf("request body is not valid JSON (offset %d)", se.Offset)
		}
		return err
	}
	return nil
}
