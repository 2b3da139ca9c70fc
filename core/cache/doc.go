// Package cache is the process-wide shared cache: one fastcache instance,
// with a hard memory budget, shared by the proxy cache, Lua scripts
// (gw.cache) and other plugins under separate namespaces that cannot see
// each other's keys.
//
// fastcache has no expiry and no prefix delete, so each value carries its
// expiry time, and each namespace has a generation number that is part of
// every key: Purge bumps it, which makes everything stored before
// invisible in O(1) (the old entries age out as fastcache overwrites
// them). Values over 64 KB go through fastcache's Big API.
//
// The cache survives configuration reloads; its size changes on restart.
package cache
