// Package session is the "session" plugin: stateless sessions carried by
// the client in an encrypted, authenticated cookie (AES-256-GCM or
// XChaCha20-Poly1305). Any node holding the keys can check a session; the
// only server-side state is the sessions logged out (revoked), kept in the
// node's shared cache and, with [redis], in Redis, so that a logout holds
// on every node.
//
// A step has one of three modes:
//
//	mode = "check"   # default: the cookie authenticates the request (401 without it)
//	mode = "login"   # the route logs a consumer in: the cookie is set on a successful
//	                 # response, for the consumer an earlier step authenticated (e.g.
//	                 # basic-auth) or the one the upstream names in login_header
//	mode = "logout"  # the cookie's session is revoked (give the step the keys) and
//	                 # the response clears the cookie
//
// Example: log in with a password once, then use the cookie:
//
//	[[routes]]
//	paths = ["/login"]
//	  [[routes.plugins]]
//	  name = "basic-auth"
//	  [[routes.plugins]]
//	  name = "session"
//	  [routes.plugins.config]
//	  mode = "login"
//	  keys = ["${SESSION_KEY}"]          # 32 bytes: 64 hex digits or base64
//	  [[routes.plugins]]
//	  name = "request-termination"
//	  [routes.plugins.config]
//	  status = 200
//	  message = "logged in"
//
// keys lists the keys: the first seals new cookies, every one opens them
// (rotation: put the new key first, drop the old one after absolute_timeout).
// A session ends after idle_timeout without a request or absolute_timeout
// after login, whichever comes first; cookies are re-sealed as they are
// used, so an active session stays alive. A session of a consumer of
// [[consumers]] ends when a reload removes the consumer.
package session
