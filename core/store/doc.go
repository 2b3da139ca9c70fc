// Package store is the process-wide shared cache store: one fastcache
// instance, with a hard memory budget, shared by the proxy cache, Lua
// scripts (gw.cache) and other plugins under separate namespaces that
// cannot see each other's keys. (The proxy cache itself, the "cache"
// plugin, is plugins/cache.)
//
// fastcache has no expiry and no prefix delete, so each value carries its
// expiry time, and each namespace has a generation number that is part of
// every key: Purge bumps it, which makes everything stored before
// invisible in O(1) (the old entries age out as fastcache overwrites
// them). Values over 64 KB go through fastcache's Big API. A namespace's
// owner may also keep a generation per key (KeyGeneration: renewing a
// URL path's drops every entry derived from it), and an Extension, state
// of its own kept and saved beside its entries (the proxy cache's purge
// marks).
//
// The store survives configuration reloads; its size changes on restart.
package store
