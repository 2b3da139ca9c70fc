// Package cache is the "cache" plugin, the proxy cache: it answers
// requests from responses stored in the shared store (core/store, in the
// namespace "proxy"), following HTTP caching (RFC 9111: Cache-Control,
// Vary, Age, validators, stale-while-revalidate, targeted cache control)
// unless the step's configuration says otherwise, and never shares what
// it must not (credentials, Set-Cookie, private). docs/cache.md is the
// user's guide.
//
// The plugin also owns the purges of what it stored: a URL's entries by
// a generation per path (store.Namespace.KeyGeneration), prefixes, routes
// and tags by purge marks kept with the namespace (marks.go, saved with
// the store's [cache] file), on the admin API's POST /cache/purge
// (purge.go), on PURGE requests when the step allows them, and after
// unsafe methods.
//
// The files, one job each:
//
//	config.go      the TOML table (Config) and its defaults
//	policy.go      what a step decides once, from its Config (policy)
//	plugin.go      the step: its policy and its machinery (Plugin), New
//	step.go        the request and response phases (OnRequest, OnResponse)
//	key.go         what a request's key is made of (digest)
//	lookup.go      finding a request's entry, and whether it may serve
//	serve.go       answering from an entry: Age, validators, ranges
//	fetch.go       going upstream: conditional requests, 304s, errors
//	store.go       whether and how a response is stored
//	refresh.go     background refreshes (stale-while-revalidate)
//	flight.go      collapsing concurrent misses of a key
//	purge.go       dropping entries: the admin API, PURGE, unsafe methods
//	marks.go       purge marks by route, prefix and tag
//	state.go       what one request's phases share (pooled)
//	entry.go       the stored record's format
//	directives.go  Cache-Control, HTTP dates, Age
//	targeted.go    targeted cache control (RFC 9213)
//	vary.go        normalized values of the headers a response varies on
//	range.go       Range requests served from an entry
//	date.go        the Date of a served entry
package cache
