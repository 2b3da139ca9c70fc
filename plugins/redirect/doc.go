// Package redirect is the "redirect" plugin: it answers requests with a
// redirect (301, 302, 303, 307 or 308) to a target built from a template
// with the captures of a regex on the path, or sends plain-HTTP requests
// to the same URL in https. The upstream is not called for what it
// redirects, so a route that redirects everything needs none.
//
//	[[routes.plugins]]
//	name = "redirect"
//	[routes.plugins.config]
//	from = "^/old/(.*)$"                 # default: every path
//	to = "https://new.example.com/$1"    # a template
//	status = 308                         # default 301
//	keep_query = true                    # default false
//
//	[[plugins]]                          # every plain-HTTP request to https
//	name = "redirect"
//	[plugins.config]
//	https = true
//	https_port = 8443                    # default 443 (left out of the URL)
//
// The regex sees the path percent-encoded as it goes on the wire, so that
// its captures can be put into a URL as they are. A target must start
// with "/" or with "http://" or "https://" and a host that no capture
// decides, so that a path cannot redirect elsewhere ("/go//evil.com" gives
// "/evil.com", never "//evil.com").
package redirect
