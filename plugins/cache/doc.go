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
package cache
