// Package anthropic holds the wire types of Anthropic's Messages API
// (POST /v1/messages, JSON and streamed), which the AI proxy speaks and
// translates: the request with its system prompt, content blocks (text,
// images by base64 or URL, documents, tool use, tool results, thinking),
// tools and tool choice; the response; the streaming events
// (message_start, content_block_start, content_block_delta,
// content_block_stop, message_delta, message_stop, ping, error); and the
// error shape. Field names follow the public API reference.
//
// The types decode and encode with encoding/json. Decoding keeps only the
// fields declared here: a request forwarded to Anthropic itself must be
// forwarded as the client's raw JSON (with only the model edited), never
// re-encoded from these types, so fields this package does not know reach
// the provider unchanged.
package anthropic
