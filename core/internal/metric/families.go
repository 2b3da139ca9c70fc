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
