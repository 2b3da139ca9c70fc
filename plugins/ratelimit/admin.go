package ratelimit

import (
	"sort"

	"github.com/moongate/moongate/core/limitkey"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.HandleAdmin("GET", "/rate-limits", adminList) }

// steps are the steps built and not yet cleaned up, for GET /rate-limits.
// A reload builds new ones and cleans the old ones up once their requests
// are done.
var steps plugin.LiveSteps[*Plugin]

// Step is what GET /rate-limits tells of one rate-limit step.
type Step struct {
	// Route is the route of a route's step, "" for a global step (and a
	// named limit).
	Route string `json:"route"`
	// Name is the name of an entry of [[rate_limits]], "" for a step.
	Name string `json:"name,omitempty"`
	// Step is its key path in the configuration file.
	Step      string   `json:"step"`
	Policy    string   `json:"policy"`
	Algorithm string   `json:"algorithm"`
	Key       []string `json:"key,omitempty"`
	Limits    []Limit  `json:"limits"`
	// Refused counts the requests answered 429; Passed the requests
	// without a key let through (missing_key = "pass").
	Refused uint64 `json:"refused"`
	Passed  uint64 `json:"passed"`
	// Local is the key table of policy "local".
	Local *LocalState `json:"local,omitempty"`
	// Redis is the state of policy "redis": calls, failures, decisions
	// taken without Redis (fallbacks), whether Redis is down now.
	Redis *RedisState `json:"redis,omitempty"`
}

// Limit is one window, as configured.
type Limit struct {
	Requests int64  `json:"requests"`
	Per      string `json:"per"`
	Burst    int64  `json:"burst,omitempty"`
}

// LocalState is the key table of a step of policy "local".
type LocalState struct {
	Keys       int    `json:"keys"`       // keys in the table
	Bytes      int64  `json:"bytes"`      // its accounted memory
	Evictions  uint64 `json:"evictions"`  // keys removed (their counts were over) to make room
	Overflowed uint64 `json:"overflowed"` // decisions for keys that found no room, by the shared overflow state
}

// RedisState is the counters of a step of policy "redis".
type RedisState struct {
	Calls     uint64 `json:"calls"`     // decisions asked of Redis
	Errors    uint64 `json:"errors"`    // of which failed (timeouts included)
	Timeouts  uint64 `json:"timeouts"`  // of which timed out
	Fallbacks uint64 `json:"fallbacks"` // decisions taken without Redis, by on_redis_error
	Down      bool   `json:"down"`      // Redis failed and has not answered since
	OnError   string `json:"on_redis_error"`
	Nodes     int    `json:"nodes"`
}

// Stats describes the step.
func (p *Plugin) Stats() Step {
	st := Step{Route: p.route, Name: p.name, Step: p.path, Policy: "local", Algorithm: p.s.limit.Algorithm.String(),
		Key: keySpec(p.s.key), Refused: p.refused.Load(), Passed: p.passed.Load()}
	for _, w := range p.s.limit.Windows {
		st.Limits = append(st.Limits, Limit{Requests: w.Requests, Per: w.Per.String(), Burst: w.Burst})
	}
	if p.local != nil {
		ls := p.local.Stats()
		st.Local = &LocalState{Keys: ls.Keys, Bytes: ls.Bytes, Evictions: ls.Evictions, Overflowed: ls.Overflowed}
	}
	if p.redis != nil {
		rs := p.redis.Stats()
		st.Policy = "redis"
		st.Redis = &RedisState{Calls: rs.Calls, Errors: rs.Errors, Timeouts: rs.Timeouts, Fallbacks: rs.Fallbacks,
			Down: rs.Down, OnError: p.s.ropts.OnError.String(), Nodes: p.s.ropts.Nodes}
	}
	return st
}

// adminList answers GET /rate-limits: the rate-limit steps of the
// configuration being served, with their counters, in file order.
func adminList(r *plugin.AdminRequest) {
	out := []Step{}
	for _, p := range steps.Steps() {
		if p.cfg == r.Config {
			out = append(out, p.Stats())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	r.JSON(200, out)
}

// keySpec is what a step counts per; nil for a named limit (its callers
// choose the key).
func keySpec(k *limitkey.Key) []string {
	if k == nil {
		return nil
	}
	return k.Spec()
}
