// Package ttlmap is a bounded, sharded map with expiring entries, for
// remembering the outcome of expensive checks (verified tokens, bcrypt
// passwords) so that a repeat does not pay for the check again.
//
// It is deliberately simple: a fixed number of shards, each a map behind
// its own lock (no global lock), and when a shard is full an arbitrary
// entry makes room (Go's map order is random). Lookups with a []byte key
// do not allocate.
package ttlmap
