package upstream

import (
	"time"
)

// TargetState is a target's state as the admin API shows it.
type TargetState struct {
	URL    string `json:"url"`
	Weight int    `json:"weight"`
	// State is "healthy", "ejected" (passive checks, until EjectedUntil)
	// or "unhealthy" (active checks).
	State        string     `json:"state"`
	EjectedUntil *time.Time `json:"ejected_until,omitempty"`
	Ejections    int        `json:"ejections"`
	// Active is the number of requests in flight (streamed responses
	// included until their end).
	Active int64 `json:"active"`
	// LatencyMS is the peak-EWMA time to the response headers.
	LatencyMS           float64    `json:"latency_ms"`
	Requests            uint64     `json:"requests"`
	Failures            uint64     `json:"failures"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastError           string     `json:"last_error,omitempty"`
	Addresses           []string   `json:"addresses,omitempty"`
	ResolvedAt          *time.Time `json:"resolved_at,omitempty"`
	ResolveError        string     `json:"resolve_error,omitempty"`
}

// State is an upstream's state as the admin API shows it.
type State struct {
	Name     string        `json:"name"`
	Balancer string        `json:"balancer"`
	Healthy  int           `json:"healthy"`
	Targets  []TargetState `json:"targets"`
}

// State returns a snapshot of the upstream's targets.
func (u *Upstream) State() State {
	now := time.Now()
	s := State{Name: u.name, Balancer: u.cfg.Balancer, Targets: make([]TargetState, 0, len(u.targets))}
	for _, t := range u.targets {
		ts := TargetState{URL: t.URL, Weight: t.Weight, State: "healthy", Active: t.active.Load(),
			LatencyMS:           float64(t.Latency()) / float64(time.Millisecond),
			Requests:            t.requests.Load(),
			Failures:            t.failures.Load(),
			ConsecutiveFailures: int(t.consecutive.Load()),
			Ejections:           int(t.ejections.Load()),
		}
		if until := t.ejectedUntil.Load(); until > now.UnixNano() {
			ts.State = "ejected"
			tu := time.Unix(0, until).UTC()
			ts.EjectedUntil = &tu
		}
		if t.activeDown.Load() {
			ts.State = "unhealthy"
		}
		if ts.State == "healthy" {
			s.Healthy++
		}
		if e := t.lastError.Load(); e != nil {
			ts.LastError = *e
		}
		if a := t.addrs.Load(); a != nil {
			ts.Addresses = *a
		}
		if r := t.resolve.Load(); r != nil {
			at := r.at.UTC()
			ts.ResolvedAt = &at
			ts.ResolveError = r.err
		}
		s.Targets = append(s.Targets, ts)
	}
	return s
}
