// Package aitest holds the end-to-end tests of the AI gateway (the
// ai-proxy plugin): the real gateway on 127.0.0.1, real HTTP, and mock
// OpenAI and Anthropic providers (plugins/aiproxy/providertest), since
// real providers cannot be reached from the tests (no network but the
// loopback, no provider keys). When npm is on the machine, the official
// openai and @anthropic-ai/sdk client libraries are run against the
// gateway too.
package aitest
