package anthropic

// Types of the events of a streamed answer, both as the SSE "event" field
// and as the "type" member of the event's data.
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// Types of a content_block_delta's delta.
const (
	DeltaText      = "text_delta"
	DeltaInputJSON = "input_json_delta"
	DeltaThinking  = "thinking_delta"
	DeltaSignature = "signature_delta"
	DeltaCitations = "citations_delta"
)

// A stream is: message_start; for each content block, content_block_start,
// any number of content_block_delta, content_block_stop; message_delta
// with the stop reason and the final usage; message_stop. Ping events may
// come at any point; an error event ends the stream.

// MessageStartEvent opens the stream with the message, its content empty.
type MessageStartEvent struct {
	Type    string   `json:"type"`
	Message Response `json:"message"`
}

// ContentBlockStartEvent opens block Index. A tool_use block starts with
// an empty Input; its JSON arrives as input_json_delta pieces.
type ContentBlockStartEvent struct {
	Type         string `json:"type"`
	Index        int    `json:"index"`
	ContentBlock Block  `json:"content_block"`
}

// ContentBlockDeltaEvent adds to block Index.
type ContentBlockDeltaEvent struct {
	Type  string     `json:"type"`
	Index int        `json:"index"`
	Delta BlockDelta `json:"delta"`
}

// BlockDelta is text (text_delta), a piece of a tool's input JSON
// (input_json_delta), thinking text or its signature.
type BlockDelta struct {
	Type        string `json:"type"`
	Text        string `json:"text,omitempty"`
	PartialJSON string `json:"partial_json,omitempty"`
	Thinking    string `json:"thinking,omitempty"`
	Signature   string `json:"signature,omitempty"`
}

// ContentBlockStopEvent closes block Index.
type ContentBlockStopEvent struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

// MessageDeltaEvent carries the stop reason and the cumulative usage at
// the end of the message.
type MessageDeltaEvent struct {
	Type  string       `json:"type"`
	Delta MessageDelta `json:"delta"`
	Usage DeltaUsage   `json:"usage"`
}

// MessageDelta is the top-level change of a MessageDeltaEvent.
type MessageDelta struct {
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

// DeltaUsage is the usage of a message_delta event: the output tokens so
// far, and, in recent API versions, the input and cache numbers too.
type DeltaUsage struct {
	OutputTokens             int64  `json:"output_tokens"`
	InputTokens              *int64 `json:"input_tokens,omitempty"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens,omitempty"`
}

// MessageStopEvent ends the stream.
type MessageStopEvent struct {
	Type string `json:"type"`
}

// ErrorResponse is the body of every error answer, and the data of an
// error event in a stream.
type ErrorResponse struct {
	Type      string `json:"type"` // "error"
	Error     Error  `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// Error describes what went wrong; Type is one of the Err* constants.
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Error types, with the HTTP status Anthropic answers them with.
const (
	ErrInvalidRequest  = "invalid_request_error" // 400 (and other 4xx)
	ErrAuthentication  = "authentication_error"  // 401
	ErrBilling         = "billing_error"         // 402
	ErrPermission      = "permission_error"      // 403
	ErrNotFound        = "not_found_error"       // 404
	ErrRequestTooLarge = "request_too_large"     // 413
	ErrRateLimit       = "rate_limit_error"      // 429
	ErrAPI             = "api_error"             // 500
	ErrTimeout         = "timeout_error"         // 504
	ErrOverloaded      = "overloaded_error"      // 529
)
