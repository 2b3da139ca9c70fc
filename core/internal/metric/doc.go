// Package metric is the engine's side of moongate's metrics: the one
// registry of series that GET /metrics writes in the Prometheus text
// format (through github.com/VictoriaMetrics/metrics), the names of the
// series, and the table that documents every family (Families, written
// into docs/observability.md by `go generate ./core/internal/metric`).
//
// Series are made when a configuration is built, never looked up per
// request: a Build hands out counters, gauges and histograms, and the
// runtime built with it keeps them. A series a build asks for again,
// by the same name, is the same object: counters keep counting across
// reloads for the routes, upstreams, targets, scripts and plugins that
// are still configured. When the new runtime serves (Build.Commit), the
// series no build of it asked for are removed: a route, target or script
// taken out of the configuration takes its series with it. A build
// that fails (Build.Abort) removes the series it made and changes
// nothing else.
//
// A few series are made on the request path, once each, the first time
// they are needed (a status code a route never answered before, a label
// value a script passes to gw.metrics.inc): Build.LazyCounter. They
// belong to a claim (their family and owner, such as a route), and stay
// across reloads while a build claims it (Build.Claim).
//
// Labels hold configuration names only (routes, upstreams, targets,
// plugins, scripts), and values the code bounds (methods, status codes),
// so that no client can grow the number of series.
package metric

//go:generate go test -count=1 -run ^TestDocsFamilies$ -update
