// Package translate converts between OpenAI's Chat Completions API and
// Anthropic's Messages API, in both directions, so that a client of
// either can be served by a provider of the other: requests
// (RequestToAnthropic, RequestToOpenAI), answers (ResponseToOpenAI,
// ResponseToAnthropic), errors (ErrorToOpenAI, ErrorToAnthropic, and
// OpenAIError/AnthropicError for the gateway's own) and streams, event by
// event (StreamToOpenAI, StreamToAnthropic). The functions are pure: no
// I/O, no global state, and the same input gives the same output (the
// "created" time of OpenAI answers is an option).
//
// The field mapping, with what is dropped or defaulted where the other
// API cannot express it, is documented in docs/ai-gateway.md; the
// decisions in short:
//
//   - Anthropic requires max_tokens: an OpenAI request without a limit
//     gets RequestOptions.DefaultMaxTokens (DefaultMaxTokens, 4096).
//   - Temperature: OpenAI's range is 0–2, Anthropic's 0–1. Values are
//     clamped, not scaled, so the common 0–1 settings mean the same on
//     both sides.
//   - Usage: OpenAI's prompt_tokens includes cached tokens, Anthropic's
//     input_tokens does not; prompt_tokens = input_tokens +
//     cache_read_input_tokens + cache_creation_input_tokens and
//     cached_tokens = cache_read_input_tokens (and back).
//   - Errors keep their meaning; Anthropic's 529 overloaded_error is
//     OpenAI's 503 (server_error, code "overloaded") and back. Provider
//     messages are passed on with anything key-like redacted.
//
// A request to a provider of the client's own API kind is not translated:
// the gateway forwards the client's body, editing only the model
// (SetModel) and, for accounting, stream_options (ForceIncludeUsage).
//
// The stream translators copy JSON string literals (text deltas, tool
// argument pieces, ids) from the provider's event into the client's
// without decoding them, and build the rest by appending into the
// caller's buffer: a warm translator allocates nothing per event.
package translate
