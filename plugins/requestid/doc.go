// Package requestid is the "request-id" plugin: it gives every request an
// ID (a random UUID v4, or the one the client sent when trusted), passes it
// upstream in a header, returns it on the response, and makes it the ID in
// error bodies and logs.
//
//	[[plugins]]
//	name = "request-id"
//	[plugins.config]
//	header = "X-Request-Id"   # default
//	trust_incoming = true     # keep a well-formed client ID; default true
//	response = true           # echo the ID on the response; default true
package requestid
