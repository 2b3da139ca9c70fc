// Package accesslog is the "access-log" plugin: one line per request,
// written after the response (the log phase runs once the response's
// write has ended), as JSON lines, nginx's "combined" format or a
// template of $variables, to stdout, stderr or a file, in batches
// (core/accesslog formats and writes the lines).
//
//	[[plugins]]
//	name = "access-log"
//	[plugins.config]
//	output = "/var/log/moongate/access.log"   # or "stdout", "stderr"
//	format = "json"      # "combined", or a template: "$time_iso8601 $status $request_time"
//	escape = "default"   # a template's escaping: "default" (nginx's) or "json"
//	local_time = false   # times in UTC; true: in the local time zone
//	redact_query = []    # more query parameters to redact
//	buffer_size = "64KB" # one write per batch of this size, or ...
//	flush_interval = "1s" # ... every flush_interval
//	max_buffered = "4MB" # lines waiting beyond this are dropped and counted
//
// [log] access = "stdout" adds the step at the end of the global chain
// (its output and format from [log]); a route's own access-log step
// replaces it, enabled = false turns it off for the route.
//
// Steps writing to the same output share one writer (one file
// descriptor, one batch): its buffer settings are those of the first
// step that opened it. On SIGUSR1 the files are reopened at their paths
// (logrotate) without losing a line.
//
// No credential reaches a line: the record has no header but User-Agent,
// Referer and traceparent, and the query (and a Referer's query) has the
// values of credential parameters replaced by "[redacted]": the query
// names of every key-auth and jwt step of the configuration (multi-auth's
// included), access_token (RFC 6750), and redact_query.
package accesslog
