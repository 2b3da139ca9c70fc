package cache

import "github.com/moongate/moongate/core/store"

// ApplyPurge performs p on the proxy cache's namespace ns, as the admin
// API's POST /cache/purge does after decoding it (for benchmarks).
func ApplyPurge(ns *store.Namespace, p Purge) ([]string, error) { return p.apply(ns, marksOf(ns)) }
