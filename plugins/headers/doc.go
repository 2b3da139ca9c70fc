// Package headers is the "headers" plugin: it sets, adds and removes
// request headers (before the upstream) and response headers (before the
// client).
//
//	[[plugins]]
//	name = "headers"
//	[plugins.config.request]
//	set = { "X-Gateway" = "moongate" }   # replace
//	add = { "X-Tag" = "a" }              # append another value
//	remove = ["X-Debug"]
//	[plugins.config.response]
//	set = { "Strict-Transport-Security" = "max-age=63072000" }
//	remove = ["Server"]
//
// Removal runs first, then set, then add.
package headers
