// Package mock is the "mock" plugin: it answers requests itself with a
// configured status, headers and body; the upstream is not called. Use it
// for maintenance pages, stubs of services not built yet, and tests.
//
//	[[routes.plugins]]
//	name = "mock"
//	[routes.plugins.config]
//	status = 503                  # default 200
//	body = "down for maintenance" # default ""
//	content_type = "text/plain"   # default "text/plain; charset=utf-8"
//	headers = { "Retry-After" = "120" }
package mock
