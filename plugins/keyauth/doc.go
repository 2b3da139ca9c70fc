// Package keyauth is the "key-auth" plugin: it authenticates requests by an
// API key of a [[consumers]] entry, sent in a header or a query argument.
//
//	[[consumers]]
//	name = "alice"
//	keys = ["${ALICE_KEY}"]          # or "file:/run/secrets/alice", or "sha256:<hex>"
//
//	[[routes.plugins]]
//	name = "key-auth"
//	[routes.plugins.config]
//	header = "X-API-Key"             # default "X-API-Key"; "" to read only the query
//	query = "apikey"                 # default "": keys in the URL are off
//	hide_credentials = false         # remove the header before forwarding
//	anonymous = ""                   # consumer for requests without a key
//
// Keys are looked up by their SHA-256, so the comparison takes the same
// time however much of a key matches. A key in the query is always removed
// from the URL before the request goes on (upstream and logs never see
// it). A missing or unknown key gets 401 with WWW-Authenticate.
package keyauth
