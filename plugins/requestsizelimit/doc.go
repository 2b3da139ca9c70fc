// Package requestsizelimit is the "request-size-limit" plugin: it refuses
// request bodies larger than a limit with 413, for routes that need a
// lower limit than [server] max_body_size (which applies to every request
// and is enforced while the body is read).
//
//	[[routes.plugins]]
//	name = "request-size-limit"
//	[routes.plugins.config]
//	max = "1MB"
package requestsizelimit
