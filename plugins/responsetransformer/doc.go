// Package responsetransformer is the "response-transformer" plugin: it
// changes the response before the client gets it — headers and JSON body
// fields (application/json and +json types), removed, renamed, replaced,
// set, added or appended, with values that are templates of request data.
//
//	[[routes.plugins]]
//	name = "response-transformer"
//	[routes.plugins.config]
//	decompress = true          # edit gzip/br/zstd bodies (sent on decoded)
//	[routes.plugins.config.remove]
//	headers = ["Server"]
//	body = ["user.password"]
//	[routes.plugins.config.add]
//	headers = { "X-Served-For" = "$(consumer.name)" }
//	body = { "meta.gateway" = "moongate" }
//
// Headers apply to every response. The body is edited only when it is in
// memory: a streamed response (large or live) is never held back, its
// headers still change. A compressed body is left alone unless decompress
// is set; a body over max_body_size, or that is not JSON, passes through
// untouched with a log line at most once a minute. Content-Length follows
// the new body, and a strong ETag becomes weak.
package responsetransformer
