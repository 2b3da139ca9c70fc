// Package requesttransformer is the "request-transformer" plugin: it
// changes the request before the upstream gets it — headers, query
// arguments and JSON body fields (removed, renamed, replaced, set, added,
// appended), the method, and the path, rewritten with the captures of a
// regex. Values are templates of request data ($(header.x), $(query.y),
// $(param.id), $(consumer.name), $(ctx.name), $1).
//
//	[[routes.plugins]]
//	name = "request-transformer"
//	[routes.plugins.config]
//	method = "POST"
//	path = { from = "^/v1/(.*)$", to = "/api/$1" }
//	[routes.plugins.config.remove]
//	headers = ["X-Debug"]
//	query = ["debug"]
//	body = ["internal"]
//	[routes.plugins.config.set]
//	headers = { "X-Tenant" = "$(ctx.tenant)" }
//	body = { "meta.user" = "$(consumer.name)" }
//
// A body that is not JSON (or that is compressed, or streamed to the
// upstream because of its size) passes through untouched, with a log
// line at most once a minute, never an error. A rewritten path with a
// dot segment, a control character (or, with strict_paths, ';' or '\')
// is refused with 400: the upstream only ever sees normalized paths.
// docs/plugins-transform.md is the user's guide.
package requesttransformer
