package openai

import (
	"encoding/json"
	"errors"
)

// EmbeddingRequest is the body of POST /v1/embeddings.
type EmbeddingRequest struct {
	Model string `json:"model"`
	// Input is a string, a list of strings, a list of token IDs or a list
	// of lists of token IDs, kept as JSON.
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format,omitempty"` // "float" or "base64"
	Dimensions     *int            `json:"dimensions,omitempty"`
	User           string          `json:"user,omitempty"`
}

// ParseEmbeddingRequest decodes an embeddings request body.
func ParseEmbeddingRequest(body []byte) (*EmbeddingRequest, error) {
	var r EmbeddingRequest
	if err := decode(body, &r); err != nil {
		return nil, err
	}
	if r.Model == "" {
		return nil, errors.New("model is required")
	}
	if len(r.Input) == 0 || string(r.Input) == "null" {
		return nil, errors.New("input is required")
	}
	return &r, nil
}

// EmbeddingResponse is the answer of POST /v1/embeddings.
type EmbeddingResponse struct {
	Object string         `json:"object"` // "list"
	Data   []Embedding    `json:"data"`
	Model  string         `json:"model"`
	Usage  EmbeddingUsage `json:"usage"`
}

// Embedding is one vector. Vector is a JSON array of numbers, or a base64
// string when the request asked for encoding_format "base64".
type Embedding struct {
	Object string          `json:"object"` // "embedding"
	Index  int             `json:"index"`
	Vector json.RawMessage `json:"embedding"`
}

// EmbeddingUsage counts the tokens of an embeddings request.
type EmbeddingUsage struct {
	PromptTokens int64 `json:"prompt_tokens"`
	TotalTokens  int64 `json:"total_tokens"`
}

// ModelList is the answer of GET /v1/models.
type ModelList struct {
	Object string  `json:"object"` // "list"
	Data   []Model `json:"data"`
}

// Model is one entry of a ModelList.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ErrorResponse is the body of every OpenAI error answer, and of an error
// event inside a stream ("data: {"error":{...}}").
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Error describes what went wrong. Type is a class such as
// "invalid_request_error" or "server_error"; Code, when set, a finer
// reason such as "invalid_api_key" or "rate_limit_exceeded".
type Error struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}
