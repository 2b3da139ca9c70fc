package metric

import (
	"strings"
)

// Family documents one family of series: its name, kind, labels and
// meaning, and what makes it. Families lists them all; the metrics
// section of docs/observability.md is written from it, and the tests
// check that /metrics shows nothing it does not list.
type Family struct {
	Name   string
	Kind   Kind
	Labels []string
	Help   string
	// Source is what makes the series: "gateway", or a plugin's name.
	Source string
}

// ScriptPrefix starts the names of the counters scripts declare
// (gw.metrics.inc): moongate_script_<declared name>.
const ScriptPrefix = "moongate_script_"

// The families' names, for the code that makes their series.
const (
	HTTPRequests          = "moongate_http_requests_total"
	HTTPRequestDuration   = "moongate_http_request_duration_seconds"
	UpstreamDuration      = "moongate_upstream_duration_seconds"
	GatewayOverhead       = "moongate_gateway_overhead_seconds"
	HTTPRequestBytes      = "moongate_http_request_bytes_total"
	HTTPResponseBytes     = "moongate_http_response_bytes_total"
	OpenConnections       = "moongate_open_connections"
	InflightRequests      = "moongate_inflight_requests"
	UpstreamRequests      = "moongate_upstream_requests_total"
	UpstreamFailures      = "moongate_upstream_failures_total"
	UpstreamRetries       = "moongate_upstream_retries_total"
	UpstreamEjections     = "moongate_upstream_ejections_total"
	UpstreamTargetHealthy = "moongate_upstream_target_healthy"
	UpstreamActive        = "moongate_upstream_active_requests"
	CacheRequests         = "moongate_cache_requests_total"
	CacheBytes            = "moongate_cache_bytes"
	CacheEntries          = "moongate_cache_entries"
	LuaCalls              = "moongate_lua_calls_total"
	LuaErrors             = "moongate_lua_errors_total"
	LuaTimeouts           = "moongate_lua_timeouts_total"
	AuthFailures          = "moongate_auth_failures_total"
	LogDropped            = "moongate_log_dropped_total"
	Reloads               = "moongate_reloads_total"
	ReloadLastSuccess     = "moongate_reload_last_success_timestamp_seconds"
	ConfigInfo            = "moongate_config_info"
)

// Buckets of the histograms, in seconds.
var (
	// DurationBuckets are for request and upstream times: 0.5 ms to 60 s.
	DurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	// OverheadBuckets are for the gateway's own time: 25 µs to 1 s.
	OverheadBuckets = []float64{.000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
)

// Families are every family of series moongate exposes, in the order
// the documentation lists them.
var Families = []Family{
	{HTTPRequests, Counter, []string{"route", "method", "status"}, "Requests answered, by route, method and status code sent to the client (three digits). " +
		"`route` is empty for requests no route matched (404, 405) and those refused before routing (400, 413, 431); " +
		"`method` is one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, CONNECT, TRACE, or OTHER; " +
		"`status` is `other` outside 100-599.", "gateway"},
	{HTTPRequestDuration, Histogram, []string{"route"}, "Time from the start of the request to the end of the response's write (a streamed response: the end of its stream), " +
		"the upstream's time and the steps' included. Buckets from 0.5 ms to 60 s.", "gateway"},
	{UpstreamDuration, Histogram, []string{"route"}, "Time spent on the upstream call, all tries and the waits between them, " +
		"up to the response's headers (a buffered body included). Only requests that went upstream. Buckets from 0.5 ms to 60 s.", "gateway"},
	{GatewayOverhead, Histogram, []string{"route"}, "The gateway's own time per request: the request's time minus the upstream's. " +
		"Buckets from 25 µs to 1 s.", "gateway"},
	{HTTPRequestBytes, Counter, []string{"route"}, "Request body bytes received from clients (the announced length of a streamed body).", "gateway"},
	{HTTPResponseBytes, Counter, []string{"route"}, "Response body bytes sent to clients, counted when the write ends: a buffered body whole, a streamed one as far as the connection wrote it.", "gateway"},
	{OpenConnections, Gauge, nil, "Client connections open on the public listeners.", "gateway"},
	{InflightRequests, Gauge, nil, "Requests being served (read, routed, and not yet answered).", "gateway"},
	{UpstreamRequests, Counter, []string{"upstream", "target"}, "Tries sent to each target of each upstream (a retry counts again, on the target it goes to). " +
		"`target` is the target's URL as configured.", "gateway"},
	{UpstreamFailures, Counter, []string{"upstream", "target"}, "Tries that failed: no connection, a timeout, a reset, a malformed answer, " +
		"or a status of the upstream's outlier.statuses.", "gateway"},
	{UpstreamRetries, Counter, []string{"upstream"}, "Tries after the first (on another target, or the same when it is the only one).", "gateway"},
	{UpstreamEjections, Counter, []string{"upstream", "target"}, "Times a target was taken out by the passive checks (outlier.consecutive_failures in a row).", "gateway"},
	{UpstreamTargetHealthy, Gauge, []string{"upstream", "target"}, "1 when the target may be picked (not ejected, not failing its active check), 0 otherwise.", "gateway"},
	{UpstreamActive, Gauge, []string{"upstream", "target"}, "Requests in flight to the target, streamed responses until their end.", "gateway"},
	{CacheRequests, Counter, []string{"route", "status"}, "Requests the cache step answered or passed on, by their X-Cache-Status: " +
		"hit, miss, expired (found but stale: fetched again), stale (served stale), revalidated (a 304 refreshed the entry), " +
		"bypass (not cacheable: method, no-store, a streamed response).", "cache"},
	{CacheBytes, Gauge, nil, "Memory the shared cache ([cache] size) holds, in bytes.", "gateway"},
	{CacheEntries, Gauge, nil, "Records in the shared cache (a large value takes several).", "gateway"},
	{LuaCalls, Counter, []string{"script"}, "Calls of a script's on_request, on_response and on_log functions. `script` is its path as configured.", "lua"},
	{LuaErrors, Counter, []string{"script"}, "Calls that failed: a Lua error, a timeout, or the memory limit.", "lua"},
	{LuaTimeouts, Counter, []string{"script"}, "Calls stopped by their deadline (lua.timeout) or instruction budget (max_instructions); also counted in errors.", "lua"},
	{AuthFailures, Counter, []string{"plugin"}, "Requests a step refused with 401 or 403 in its request phase, by plugin name " +
		"(key-auth, jwt, basic-auth, acl, ...; a script's path).", "gateway"},
	{LogDropped, Counter, nil, "Requests whose log phase was dropped because the log queue was full.", "gateway"},
	{Reloads, Counter, []string{"result"}, "Configuration reloads, by result: `ok`, or `failed` (refused; the previous configuration kept serving).", "gateway"},
	{ReloadLastSuccess, Gauge, nil, "Unix time of the last configuration loaded successfully (the start, or the last reload that succeeded).", "gateway"},
	{ConfigInfo, Gauge, []string{"hash"}, "Always 1; `hash` is the SHA-256 of the configuration file in service.", "gateway"},
	{"moongate_ratelimit_refused_total", Counter, []string{"route", "step"}, "Requests a rate-limit step (or a named limit of [[rate_limits]], route empty) refused. `step` is its key path in the configuration (`routes[0].plugins[1]`); read from the step's counters when /metrics is scraped.", "rate-limit"},
	{"moongate_ratelimit_redis_calls_total", Counter, []string{"route", "step"}, "Decisions a step of policy \"redis\" asked of Redis.", "rate-limit"},
	{"moongate_ratelimit_redis_errors_total", Counter, []string{"route", "step"}, "Of those, the calls that failed (timeouts included).", "rate-limit"},
	{"moongate_ratelimit_redis_timeouts_total", Counter, []string{"route", "step"}, "Of those, the calls that timed out.", "rate-limit"},
	{"moongate_ratelimit_redis_fallbacks_total", Counter, []string{"route", "step"}, "Decisions taken without Redis, as on_redis_error says.", "rate-limit"},
	{"moongate_ratelimit_redis_down", Gauge, []string{"route", "step"}, "1 while Redis failed the step and has not answered since, 0 otherwise.", "rate-limit"},
	{"moongate_concurrencylimit_refused_total", Counter, []string{"route", "step"}, "Requests a concurrency-limit step refused (no slot, queue full or wait over).", "concurrency-limit"},
	{"moongate_concurrencylimit_queue_timeouts_total", Counter, []string{"route", "step"}, "Of those, the requests refused after waiting queue_timeout in the queue.", "concurrency-limit"},
	{"moongate_concurrencylimit_in_flight", Gauge, []string{"route", "step"}, "Requests holding a slot of the step, all keys summed.", "concurrency-limit"},
	{"moongate_concurrencylimit_queued", Gauge, []string{"route", "step"}, "Requests waiting for a slot of the step, all keys summed.", "concurrency-limit"},
	{"moongate_cache_cluster_published_total", Counter, nil, "Purges of this node written to the cluster's purge stream ([cache.cluster]).", "cache"},
	{"moongate_cache_cluster_publish_errors_total", Counter, nil, "Failed attempts to write them (each retried).", "cache"},
	{"moongate_cache_cluster_queue_full_total", Counter, nil, "Purges that found the publish queue full (published as a purge of everything).", "cache"},
	{"moongate_cache_cluster_applied_total", Counter, nil, "Purges of other nodes applied here.", "cache"},
	{"moongate_cache_cluster_replayed_total", Counter, nil, "Of those, the purges read late, when Redis answered again.", "cache"},
	{"moongate_cache_cluster_gaps_total", Counter, nil, "Whole-cache drops because purges were missed or could not be proved heard.", "cache"},
	{"moongate_cache_cluster_offline_drops_total", Counter, nil, "Whole-cache drops after max_offline without Redis.", "cache"},
	{"moongate_cache_cluster_read_errors_total", Counter, nil, "Failed reads of the purge stream (each retried).", "cache"},
	{"moongate_cache_cluster_connected", Gauge, nil, "1 while the node reads the purge stream, 0 otherwise.", "cache"},
	{"moongate_cache_cluster_queued", Gauge, nil, "Purges of this node waiting to be published.", "cache"},
	{"moongate_otel_spans_exported_total", Counter, nil, "Spans the opentelemetry steps of the process sent to the collector.", "opentelemetry"},
	{"moongate_otel_spans_dropped_total", Counter, nil, "Spans dropped because the export queue was full (a collector slower than the traffic, or away).", "opentelemetry"},
	{"moongate_otel_spans_failed_total", Counter, nil, "Spans lost in exports that failed (the collector refused them or could not be reached).", "opentelemetry"},
	{"moongate_accesslog_dropped_total", Counter, []string{"output"}, "Access log lines dropped because the output's buffers were full (max_buffered). `output` is the output as configured: stdout, stderr or the file's path.", "access-log"},
	{"moongate_accesslog_write_errors_total", Counter, []string{"output"}, "Failed writes to the output (their lines are lost).", "access-log"},
	{ScriptPrefix + "<name>", Counter, []string{"script", "<declared labels>"}, "Counters a script declares in its step's `metrics` and counts with " +
		"gw.metrics.inc: one family per declared name.", "lua"},
}

// Lookup returns the family a series name (without labels) belongs to:
// a histogram's _bucket, _sum and _count series belong to it, a
// script's counters to the moongate_script_ family.
func Lookup(name string) (Family, bool) {
	for _, f := range Families {
		if f.Name == name {
			return f, true
		}
		if f.Kind == Histogram && strings.HasPrefix(name, f.Name+"_") {
			switch name[len(f.Name):] {
			case "_bucket", "_sum", "_count":
				return f, true
			}
		}
	}
	if strings.HasPrefix(name, ScriptPrefix) && len(name) > len(ScriptPrefix) {
		return Families[len(Families)-1], true
	}
	return Family{}, false
}

// Reserved reports whether name is the family of a series the gateway
// makes itself: no plugin may make one of that name.
func Reserved(name string) bool {
	for _, f := range Families {
		if f.Name == name && f.Source == "gateway" {
			return true
		}
	}
	return false
}

// Markdown returns the documentation table of the families.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| Metric | Type | Labels | Meaning |\n|---|---|---|---|\n")
	for _, f := range Families {
		labels := "—"
		if len(f.Labels) > 0 {
			labels = "`" + strings.Join(f.Labels, "`, `") + "`"
		}
		help := f.Help
		if f.Source != "gateway" {
			help += " (Made by the " + f.Source + " plugin.)"
		}
		b.WriteString("| `" + f.Name + "` | " + f.Kind.String() + " | " + labels + " | " + strings.ReplaceAll(help, "|", `\|`) + " |\n")
	}
	return b.String()
}
