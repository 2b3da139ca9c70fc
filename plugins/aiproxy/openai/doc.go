// Package openai holds the wire types of the OpenAI HTTP API that the AI
// proxy speaks and translates: Chat Completions (POST /v1/chat/completions,
// JSON and streamed as chat.completion.chunk events), Embeddings
// (POST /v1/embeddings), the models list (GET /v1/models) and the error
// shape. Field names follow the public API reference; OpenAI-compatible
// servers (Azure OpenAI, Mistral, DeepSeek, Gemini's OpenAI endpoint,
// Ollama, vLLM, OpenRouter) accept the same shapes.
//
// The types decode and encode with encoding/json. Decoding keeps only the
// fields declared here: a request forwarded to an OpenAI-shaped provider
// must be forwarded as the client's raw JSON (with only the model edited),
// never re-encoded from these types, so fields this package does not know
// reach the provider unchanged.
//
// Unions of the API are modelled as small structs with their own JSON
// methods: Content (a string, an array of parts, or null), Stop (a string
// or a list) and ToolChoice (a mode string or a named function).
package openai
