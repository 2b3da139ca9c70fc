// Package forwardauth is the "forward-auth" plugin: before a request goes
// upstream, the gateway asks an external service whether to let it
// through. A 2xx answer lets it pass; any other answer is relayed to the
// client as the refusal.
//
//	[[routes.plugins]]
//	name = "forward-auth"
//	[routes.plugins.config]
//	url = "http://auth.internal:9000/verify"
//	timeout = "2s"                              # past it: 503
//	request_headers = ["Authorization", "Cookie"]   # sent to the service (default)
//	upstream_headers = ["X-User-Id"]            # copied from its answer to the upstream request
//	client_headers = ["WWW-Authenticate", "Location"]   # copied from a refusal to the client (default)
//	consumer_header = "X-User-Id"               # names the consumer (optional)
//	groups_header = "X-User-Groups"             # the consumer's groups, comma-separated
//	cache_ttl = "30s"                           # remember positive answers; default "0s": off
//
// The service receives the request's method, URI, host, scheme and client
// address as X-Forwarded-Method, X-Forwarded-Uri, X-Forwarded-Host,
// X-Forwarded-Proto and X-Forwarded-For, and the configured request
// headers; never the body. Client-sent headers named in upstream_headers
// are removed before the service's are copied, so a client cannot supply
// them itself. Positive answers are cached in the shared cache for
// cache_ttl, keyed by a SHA-256 of the method, the URI and the forwarded
// request headers; refusals are never cached. An unreachable service, a
// timeout (503) or a 5xx answer (502) fails closed.
package forwardauth
