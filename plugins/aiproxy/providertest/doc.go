// Package providertest runs mock LLM providers for tests: an OpenAI
// server (chat completions, embeddings, models; also the Azure OpenAI
// deployment paths) and an Anthropic server (messages), each a real HTTP
// server on 127.0.0.1 with a port of its own.
//
// Mocks are the right tool here, not a shortcut: the tests of the AI
// gateway cannot reach real providers (no network but the loopback, no
// provider keys), and a mock can do what a real provider does only
// rarely and unpredictably: split an event across TCP writes inside a
// UTF-8 character, pause between events on a signal from the test,
// answer 429 with reset headers, fail in the middle of a stream.
//
// By default a mock answers every valid request with a fixed text
// (DefaultPieces, streamed one piece per event when the request asks for
// a stream) and fixed usage (DefaultUsage), in its API's exact shape. A
// test queues other answers with Enqueue: JSON bodies, event streams
// built with the helpers in this package or by hand, error answers and
// rate limits. Every request is recorded (method, path, headers, the
// provider key it carried, body) so a test can assert what the gateway
// sent; Handled delivers each one when its answer is over, with whether
// the client went away first.
//
// Keys: a mock accepts the keys given to New (DefaultKey when none) and
// answers any other with the provider's 401. OpenAI mocks read
// "Authorization: Bearer KEY" or Azure's "api-key: KEY"; Anthropic mocks
// read "x-api-key: KEY" and, like Anthropic, refuse a request without an
// "anthropic-version" header.
package providertest
