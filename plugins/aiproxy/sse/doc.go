// Package sse reads and writes Server-Sent Events (the text/event-stream
// format of the WHATWG HTML standard, section 9.2) as LLM providers stream
// them: OpenAI's `data: {chunk}` lines ending in `data: [DONE]`, and
// Anthropic's `event: name` + `data: {json}` pairs.
//
// Reader is incremental and correct however the provider's bytes are cut
// into reads: inside a line, inside a UTF-8 character, between the CR and
// the LF of a CRLF, or one byte at a time. It accepts LF, CRLF and lone CR
// line endings, skips comments and a leading byte order mark, and joins
// multi-line data fields with LF, as the standard says. Events are handed
// out as slices of the Reader's own buffer, so reading allocates nothing
// once the buffer has grown to the size of the largest event.
//
// Each event also carries Raw, its exact bytes on the wire, so that a
// proxy which does not need to change an event can forward it unchanged.
//
// The writing side is a set of Append functions that build events into a
// caller-owned buffer (no allocation once it has grown) and Writer, which
// wraps an io.Writer and flushes after every event when it can.
package sse
