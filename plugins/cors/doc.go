// Package cors is the "cors" plugin: Cross-Origin Resource Sharing
// (the Fetch standard's CORS protocol) answered at the gateway.
//
//	[[routes.plugins]]
//	name = "cors"                                 # put it before authentication steps
//	[routes.plugins.config]
//	origins = ["https://app.example.com"]         # exact origins, or ["*"]
//	origin_patterns = ["https://*.example.com"]   # "*" is one DNS label
//	methods = ["GET", "POST"]                     # default GET, HEAD, POST, PUT, PATCH, DELETE
//	headers = ["Authorization", "Content-Type"]   # allowed request headers
//	expose_headers = ["X-Request-Id"]
//	credentials = true
//	max_age = "10m"
//
// Origins are compared whole (scheme, host and port), so
// "https://app.example.com.evil.tld" and "https://evil-app.example.com"
// do not match "https://app.example.com", and "null" never matches
// anything. Preflight requests are answered by the gateway (204, or 403
// when refused) and never reach the upstream; every response carries
// "Vary: Origin". The route must accept OPTIONS (leave methods unset, or
// list it), and the cors step must come before authentication steps,
// since preflights carry no credentials.
package cors
