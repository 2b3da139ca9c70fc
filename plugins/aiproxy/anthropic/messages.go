package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Roles of a message.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Content block types.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockDocument         = "document"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
	BlockServerToolUse    = "server_tool_use"
)

// Source types of an image or document block.
const (
	SourceBase64 = "base64"
	SourceURL    = "url"
	SourceText   = "text"
	SourceFile   = "file"
)

// Stop reasons.
const (
	StopEndTurn         = "end_turn"
	StopMaxTokens       = "max_tokens"
	StopStopSequence    = "stop_sequence"
	StopToolUse         = "tool_use"
	StopPauseTurn       = "pause_turn"
	StopRefusal         = "refusal"
	StopContextExceeded = "model_context_window_exceeded"
)

// Tool choice types.
const (
	ToolChoiceAuto = "auto"
	ToolChoiceAny  = "any"
	ToolChoiceTool = "tool"
	ToolChoiceNone = "none"
)

// Request is the body of POST /v1/messages.
type Request struct {
	Model string `json:"model"`
	// MaxTokens is required by the API.
	MaxTokens int       `json:"max_tokens"`
	Messages  []Message `json:"messages"`
	// System is the system prompt: a string or an array of text blocks.
	System        Content  `json:"system,omitzero"`
	StopSequences []string `json:"stop_sequences,omitempty"`
	// Temperature is 0 to 1 in Anthropic's API.
	Temperature *float64  `json:"temperature,omitempty"`
	TopP        *float64  `json:"top_p,omitempty"`
	TopK        *int      `json:"top_k,omitempty"`
	Stream      bool      `json:"stream,omitempty"`
	Metadata    *Metadata `json:"metadata,omitempty"`

	Tools      []Tool      `json:"tools,omitempty"`
	ToolChoice *ToolChoice `json:"tool_choice,omitempty"`

	// Thinking configures extended thinking, kept as JSON.
	Thinking     json.RawMessage `json:"thinking,omitempty"`
	OutputConfig *OutputConfig   `json:"output_config,omitempty"`
	ServiceTier  string          `json:"service_tier,omitempty"`
}

// Metadata is the request's "metadata" object.
type Metadata struct {
	// UserID is an opaque identifier of the end user.
	UserID string `json:"user_id,omitempty"`
}

// OutputConfig is the request's "output_config" object.
type OutputConfig struct {
	// Format asks for structured output: {"type":"json_schema","schema":{...}}.
	Format *OutputFormat `json:"format,omitempty"`
	Effort string        `json:"effort,omitempty"`
}

// OutputFormat is a structured output format.
type OutputFormat struct {
	Type   string          `json:"type"` // "json_schema"
	Schema json.RawMessage `json:"schema,omitempty"`
}

// Message is one turn of the conversation. Turns alternate between user
// and assistant; tool results travel in user turns.
type Message struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Content is a string (Text non-nil) or an array of blocks (Blocks
// non-nil); both nil is null. It is the type of a message's content, of
// the system prompt and of a tool result's content.
type Content struct {
	Text   *string
	Blocks []Block
}

// TextContent returns string content.
func TextContent(s string) Content { return Content{Text: &s} }

// IsZero reports whether the content is absent or null.
func (c Content) IsZero() bool { return c.Text == nil && c.Blocks == nil }

// JoinText returns the string, or the text of the text blocks joined by
// sep.
func (c Content) JoinText(sep string) string {
	if c.Text != nil {
		return *c.Text
	}
	var b strings.Builder
	n := 0
	for _, blk := range c.Blocks {
		if blk.Type != BlockText {
			continue
		}
		if n > 0 {
			b.WriteString(sep)
		}
		b.WriteString(blk.Text)
		n++
	}
	return b.String()
}

// MarshalJSON writes the string, the array of blocks, or null.
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case c.Text != nil:
		return json.Marshal(*c.Text)
	case c.Blocks != nil:
		return json.Marshal(c.Blocks)
	}
	return []byte("null"), nil
}

// UnmarshalJSON accepts a string, an array of blocks or null.
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
		blocks := []Block{}
		if err := json.Unmarshal(b, &blocks); err != nil {
			return err
		}
		c.Blocks = blocks
		return nil
	}
	return errors.New("content must be a string or an array of content blocks")
}

// Block is a content block. Which fields are used depends on Type.
type Block struct {
	Type string `json:"type"`

	// "text"
	Text      string          `json:"text,omitempty"`
	Citations json.RawMessage `json:"citations,omitempty"`

	// "image", "document"
	Source  *Source `json:"source,omitempty"`
	Title   string  `json:"title,omitempty"`
	Context string  `json:"context,omitempty"`

	// "tool_use", "server_tool_use": Input is a JSON object.
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`

	// "tool_result": Content is a string or text and image blocks.
	ToolUseID string   `json:"tool_use_id,omitempty"`
	Content   *Content `json:"content,omitempty"`
	IsError   bool     `json:"is_error,omitempty"`

	// "thinking", "redacted_thinking"
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`

	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// MarshalJSON writes the block with the members its type requires even
// when empty: "text" of a text block, "input" of a tool use ({} when
// unset), "thinking" and "signature" of a thinking block.
func (b Block) MarshalJSON() ([]byte, error) {
	type plain Block
	switch b.Type {
	case BlockText:
		return json.Marshal(struct {
			Type         string          `json:"type"`
			Text         string          `json:"text"`
			Citations    json.RawMessage `json:"citations,omitempty"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{b.Type, b.Text, b.Citations, b.CacheControl})
	case BlockToolUse, BlockServerToolUse:
		input := b.Input
		if len(input) == 0 {
			input = json.RawMessage("{}")
		}
		return json.Marshal(struct {
			Type         string          `json:"type"`
			ID           string          `json:"id"`
			Name         string          `json:"name"`
			Input        json.RawMessage `json:"input"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{b.Type, b.ID, b.Name, input, b.CacheControl})
	case BlockThinking:
		return json.Marshal(struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{b.Type, b.Thinking, b.Signature})
	}
	return json.Marshal(plain(b))
}

// Source is where an image or document block's content comes from.
type Source struct {
	Type      string `json:"type"`                 // "base64", "url", "text", "file"
	MediaType string `json:"media_type,omitempty"` // "image/png", "application/pdf", "text/plain"
	Data      string `json:"data,omitempty"`       // base64 (or the text of a "text" source)
	URL       string `json:"url,omitempty"`
	FileID    string `json:"file_id,omitempty"`
}

// Tool is a tool the model may use. Client tools have a name, a
// description and a JSON Schema for their input; Anthropic's server tools
// (web search, code execution, ...) have a versioned Type instead and
// other members, which this type does not keep.
type Tool struct {
	Type         string          `json:"type,omitempty"` // "" or "custom" for client tools
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// IsClientTool reports whether the tool is defined by the client (as
// opposed to one of Anthropic's server tools).
func (t Tool) IsClientTool() bool { return t.Type == "" || t.Type == "custom" }

// ToolChoice is {"type":"auto"|"any"|"none"} or {"type":"tool","name":...};
// DisableParallelToolUse limits the model to one tool call per turn.
type ToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse *bool  `json:"disable_parallel_tool_use,omitempty"`
}

// Response is a non-streamed answer of POST /v1/messages.
type Response struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"` // "message"
	Role         string  `json:"role"` // "assistant"
	Model        string  `json:"model"`
	Content      []Block `json:"content"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        Usage   `json:"usage"`
}

// Usage counts the tokens of a request. InputTokens excludes the tokens
// read from or written to the prompt cache, which are counted apart.
type Usage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
}

// ParseRequest decodes a messages request body. The error names what is
// wrong, for a 400 answer.
func ParseRequest(body []byte) (*Request, error) {
	var r Request
	if err := json.Unmarshal(body, &r); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return nil, fmt.Errorf("%s: wrong type (%s)", te.Field, te.Value)
		case errors.As(err, &te):
			return nil, fmt.Errorf("request body must be a JSON object, got %s", te.Value)
		case errors.As(err, &se):
			return nil, fmt.Errorf("request body is not valid JSON (offset %d)", se.Offset)
		}
		return nil, err
	}
	switch {
	case r.Model == "":
		return nil, errors.New("model: field required")
	case r.MaxTokens <= 0:
		return nil, errors.New("max_tokens: field required, at least 1")
	case len(r.Messages) == 0:
		return nil, errors.New("messages: at least one message is required")
	}
	return &r, nil
}
