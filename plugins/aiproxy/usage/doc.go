// Package usage reads token usage out of provider answers, for accounting
// and token limits: from a JSON answer of either API kind and, event by
// event, from a stream, without allocating, so it can watch a stream that
// is passed through to the client unchanged.
//
// The two APIs count differently; Tokens uses OpenAI's definitions for
// both: Prompt counts every prompt token, those read from and written to
// the provider's prompt cache included (Anthropic reports these apart from
// input_tokens, so Prompt = input_tokens + cache_read_input_tokens +
// cache_creation_input_tokens), and Total = Prompt + Completion.
package usage
