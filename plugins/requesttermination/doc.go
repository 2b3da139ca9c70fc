// Package requesttermination is the "request-termination" plugin: it
// answers every request of its route itself, typically with a maintenance
// response, and never calls the upstream.
//
//	[[routes.plugins]]
//	name = "request-termination"
//	[routes.plugins.config]
//	status = 503                      # default 503
//	message = "down for maintenance"  # answered in the gateway's JSON error format
//	retry_after = "10m"               # adds Retry-After (seconds); default none
//	# body = "<h1>back soon</h1>"     # a body of your own instead of message
//	# content_type = "text/html"      # with body; default "text/plain; charset=utf-8"
package requesttermination
