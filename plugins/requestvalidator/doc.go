// Package requestvalidator is the "request-validator" plugin: it refuses
// requests whose JSON body breaks a JSON Schema (compiled when the
// configuration loads, from an inline TOML table or a file), or that lack
// required headers or query arguments, with 400 and the list of what is
// wrong; the upstream never sees them.
//
//	[[routes.plugins]]
//	name = "request-validator"
//	[routes.plugins.config]
//	required_headers = ["X-Tenant"]
//	required_query = ["version"]
//	max_body_size = "1MB"                 # default; larger: 413
//	[routes.plugins.config.schema]        # or schema_file = "schemas/order.json"
//	type = "object"
//	required = ["item", "qty"]
//	properties = { item = { type = "string" }, qty = { type = "integer", minimum = 1 } }
//
// The body is validated for POST, PUT and PATCH, and for any request that
// carries one. A body that streams to the upstream (over [server]
// buffer_body_size) cannot be validated before it goes, and is refused
// with 413 rather than let through unchecked; so is one over
// max_body_size. A body that is not JSON (by Content-Type) gets 415.
package requestvalidator
