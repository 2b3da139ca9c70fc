// Package aiproxy is the ai-proxy plugin: an AI gateway step that answers
// OpenAI-shaped requests (POST .../chat/completions, .../embeddings,
// GET .../models) and Anthropic-shaped ones (POST .../messages) itself,
// from the providers its models table names, so that its route needs no
// upstream. Requests are translated between the two APIs where the
// client's and the provider's differ (package translate), and answers
// stream event by event.
//
// Per request: the model the client asks for picks an entry of the
// models table (a name, an alias or a "*" pattern); one of its targets is
// picked by weight, the others and the fallbacks follow in order. Each
// attempt takes a key from the provider's pool; a 429 rests the key until
// the provider's reset time, a 401 or 403 disables it, and both try
// another key. A 5xx, a connection failure or a timeout tries the next
// target, as long as nothing was sent to the client (a stream is
// committed once its first event arrived).
//
// Around the calls: token budgets per consumer (core/ratelimit), the
// opt-in prompt cache (on the shared store, namespace "ai-proxy"), token
// counters per route, consumer, model and provider with an estimated
// cost (VisitUsage, GET /ai/usage on the admin API), the state of every
// key (Keys, GET /ai/keys), and per-request values for later steps, the
// log phase and scripts (ValueModel, ValuePromptTokens, ...).
//
// The package also registers ai-errors, a step that reshapes the
// gateway's own JSON errors of earlier steps (a wrong client key) into
// the client API's error shape.
//
// docs/ai-gateway.md is the user's reference: configuration, the
// translation tables, errors.
package aiproxy
