// Package clustersync carries the proxy cache's purges between the nodes
// of a cluster through one Redis Stream, so that a purge made on one node
// (admin API, PURGE, invalidation by an unsafe method) is applied by all,
// and a node that could not hear some of them never keeps serving what
// they purged.
//
// # The stream
//
// Every purge is one entry of the stream (XADD ... MAXLEN ~ max_len),
// written by a script that numbers it: each entry carries an epoch (Redis
// TIME when the stream was started) and a sequence number one above the
// previous entry's. A node remembers where it is (epoch, entry ID,
// sequence) and reads on from there (XREAD BLOCK, on a connection of its
// own). It knows it missed nothing when each entry it reads is numbered
// one above the last: an entry of another epoch (Redis lost the stream:
// restarted without persistence, replaced, failed over with lost writes),
// or a jump in the numbers (entries trimmed before the node read them),
// means purges were lost to it, and it drops its whole proxy cache
// (Handler.DropAll), then goes on from that entry. So does a node that
// cached entries before it first knew its place in the stream (it started
// while Redis was unreachable, or loaded a saved cache without a place).
//
// # Redis away
//
// A node keeps serving while it cannot read the stream; when it can again
// it reads what it missed (replayed purges) or, if it cannot prove it
// missed nothing, drops everything as above. With Options.MaxOffline it
// also drops its proxy cache after that long without Redis, and again
// every MaxOffline while Redis stays away. Its own purges are applied at
// once on the node, queued (bounded: a full queue becomes one purge of
// everything) and published when Redis answers; a node reading its own
// entries back skips them.
//
// # Lifecycle
//
// One Sync per cache namespace, kept across configuration reloads by its
// owner: every step built with a Redis client attaches to it (Attach),
// and the Sync runs one subscriber and one publisher while at least one
// attachment is left. A reload attaches the new steps before the old
// ones detach, so the subscriber goes on without losing its place.
package clustersync
