// Package marks remembers short-lived marks — a signature already used,
// a session logged out — for one node, or for every node of a cluster
// through the shared Redis.
//
// A Set always keeps its marks in a namespace of the node's shared store
// (they outlive reloads). With a Redis client it also keeps them in
// Redis, one key per mark (SET with a TTL), so that a mark made on one
// node holds on all: Add is SET NX (of several nodes adding one key at
// once, exactly one gets true), Has is EXISTS. Each Redis call has its own
// short timeout. When Redis fails or is slow, the Set decides with the
// node's marks alone, counts it, and says so in the log: once when Redis
// fails, then at most every LogInterval while it stays away, and once
// when it answers again. For RetryInterval after a failure it does not
// ask Redis at all, so a hanging Redis costs one timeout per interval.
package marks
