// Package basicauth is the "basic-auth" plugin: HTTP Basic authentication
// (RFC 7617) against the basic_auth credentials of [[consumers]].
//
//	[[consumers]]
//	name = "alice"
//	basic_auth = [{ username = "alice", password = "$2b$10$..." }]   # bcrypt, or plain
//
//	[[routes.plugins]]
//	name = "basic-auth"
//	[routes.plugins.config]
//	hide_credentials = false   # remove Authorization before forwarding
//	anonymous = ""             # consumer for requests without credentials
//	realm = "moongate"
//
// A missing Authorization header, or one of another scheme, gets 401 with
// `WWW-Authenticate: Basic realm="moongate", charset="UTF-8"`; a malformed
// one (bad base64, no colon, too long) and a wrong password get 401 too,
// never 500.
package basicauth
