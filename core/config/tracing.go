package config

import (
	"math"
	"strconv"
)

// Tracing configures W3C Trace Context (traceparent and tracestate) for
// every request. It applies on reload.
type Tracing struct {
	// Enabled makes the gateway take part in traces: a valid traceparent
	// from the client is sent upstream with the gateway's own span as its
	// parent-id (and its tracestate, checked and cut to the
	// specification's limits); a missing or invalid one is replaced by a
	// new trace (and its tracestate dropped). False leaves both headers as
	// the client sent them, like any other header, and requests have no
	// trace (no spans, no trace ID in logs). Default true.
	Enabled bool `toml:"enabled"`
	// SamplingRatio is the share of the traces the gateway starts (for
	// requests without a valid traceparent) that are sampled, from 0 to 1.
	// A trace from the client keeps its sampled flag. Default 1.
	SamplingRatio float64 `toml:"sampling_ratio"`
}

// DefaultTracing returns the [tracing] defaults.
func DefaultTracing() Tracing { return Tracing{Enabled: true, SamplingRatio: 1} }

func (c *Config) checkTracing(rep *reporter) {
	if r := c.Tracing.SamplingRatio; math.IsNaN(r) || r < 0 || r > 1 {
		rep.add("tracing.sampling_ratio", "must be between 0 and 1, got "+strconv.FormatFloat(r, 'g', -1, 64))
	}
}
