// Package redisconn builds the one Redis client a moongate process shares
// between its plugins, from Options that mirror the [redis] section of the
// configuration: addresses, credentials, database, TLS, timeouts and pool
// size, for a single server, Sentinel or Cluster (go-redis's
// UniversalClient).
//
// Errors name the offending option (`redis.tls.ca: ...`); the password is
// never part of an error, of String, GoString or of the slog value of
// Options. New does not connect: a node starts, and serves with its
// documented fallbacks, while Redis is away.
package redisconn
