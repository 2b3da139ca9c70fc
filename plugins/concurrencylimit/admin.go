package concurrencylimit

import (
	"sort"

	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.HandleAdmin("GET", "/concurrency-limits", adminList) }

// steps are the steps built and not yet cleaned up, for GET /concurrency-limits.
var steps plugin.LiveSteps[*Plugin]

// Step is what GET /concurrency-limits tells of one step.
type Step struct {
	// Route is the route of a route's step, "" for a global step.
	Route string `json:"route"`
	// Step is its key path in the configuration file.
	Step        string   `json:"step"`
	Key         []string `json:"key"`
	MaxInFlight int      `json:"max_in_flight"`
	Queue       int      `json:"queue"`
	// InFlight and Waiting are the requests holding a slot and waiting in
	// a queue now, over every key; Keys the keys remembered.
	InFlight int `json:"in_flight"`
	Waiting  int `json:"waiting"`
	Keys     int `json:"keys"`
	// Refused counts the requests answered with status; Queued those that
	// waited in a queue, TimedOut those of them refused after
	// queue_timeout.
	Refused  uint64 `json:"refused"`
	Queued   uint64 `json:"queued"`
	TimedOut uint64 `json:"timed_out"`
}

// Stats describes the step.
func (p *Plugin) Stats() Step {
	in, waiting, keys := p.slots.counts()
	return Step{Route: p.route, Step: p.path, Key: p.key.Spec(), MaxInFlight: p.slots.max, Queue: p.slots.queue,
		InFlight: in, Waiting: waiting, Keys: keys,
		Refused: p.refused.Load(), Queued: p.queued.Load(), TimedOut: p.timedOut.Load()}
}

// adminList answers GET /concurrency-limits: the concurrency-limit steps
// of the configuration being served, ordered by step.
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
