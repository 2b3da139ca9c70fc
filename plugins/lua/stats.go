package lua

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/moongate/moongate/core/plugin"
)

// Stats counts what happened to one script, across reloads (keyed by
// its path). Only rare events are counted, so the counters cost nothing
// on the request path.
type Stats struct {
	errors        atomic.Uint64
	timeouts      atomic.Uint64
	discarded     atomic.Uint64
	statesCreated atomic.Uint64
	memory        atomic.Uint64
}

// StatsSnapshot is one script's counters, as GET /scripts shows them.
type StatsSnapshot struct {
	Script string `json:"script"`
	// Errors counts failed calls: runtime errors and timeouts.
	Errors uint64 `json:"errors"`
	// Timeouts counts calls stopped by their instruction budget or their
	// deadline.
	Timeouts uint64 `json:"timeouts"`
	// MemoryErrors counts calls stopped by lua.max_memory.
	MemoryErrors uint64 `json:"memory_errors"`
	// Discarded counts states thrown away (timeouts, memory errors,
	// max_state_size).
	Discarded uint64 `json:"states_discarded"`
	// StatesCreated counts Lua states created (pool misses and reloads).
	StatesCreated uint64 `json:"states_created"`
}

var (
	statsMu sync.Mutex
	stats   = map[string]*Stats{}
)

func statsFor(path string) *Stats {
	statsMu.Lock()
	defer statsMu.Unlock()
	s, ok := stats[path]
	if !ok {
		s = &Stats{}
		stats[path] = s
	}
	return s
}

// Snapshot returns the counters of every script loaded since the
// process started, sorted by path.
func Snapshot() []StatsSnapshot {
	statsMu.Lock()
	defer statsMu.Unlock()
	out := make([]StatsSnapshot, 0, len(stats))
	for p, s := range stats {
		out = append(out, StatsSnapshot{Script: p, Errors: s.errors.Load(), Timeouts: s.timeouts.Load(),
			MemoryErrors: s.memory.Load(), Discarded: s.discarded.Load(), StatesCreated: s.statesCreated.Load()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Script < out[j].Script })
	return out
}

func init() {
	plugin.HandleAdmin("GET", "/scripts", func(r *plugin.AdminRequest) {
		r.JSON(200, Snapshot())
	})
}
