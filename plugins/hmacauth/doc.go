// Package hmacauth is the "hmac-auth" plugin: requests signed with a
// secret shared with a [[consumers]] entry, in the style of the HTTP
// Signatures draft (draft-cavage-http-signatures):
//
//	Authorization: Signature keyId="alice-hmac",algorithm="hmac-sha256",
//	    headers="@request-target date digest",signature="<base64>"
//
// The signature is the HMAC of the signing string: one line per name in
// headers, "name: value" with the name in lower case, joined by "\n";
// "@request-target" stands for the method in lower case, a space and the
// request target as sent ("get /orders?id=1"). A body is bound by
// "Digest: SHA-256=<base64 of its SHA-256>", which must then be signed.
//
//	[[consumers]]
//	name = "alice"
//	hmac_secrets = [{ key = "alice-hmac", secret = "${ALICE_HMAC}" }]
//
//	[[routes.plugins]]
//	name = "hmac-auth"
//	[routes.plugins.config]
//	algorithms = ["hmac-sha256", "hmac-sha512"]   # default: both and hmac-sha384
//	enforce_headers = ["@request-target", "date"] # default; must be signed
//	clock_skew = "300s"                           # Date (or X-Date) this close to now
//	validate_body = true                          # Digest required with a body
//
//	use_redis = true                              # default; with [redis], replays are refused cluster-wide
//	redis_timeout = "50ms"                        # one Redis call; past it, this node's record decides
//
// A signature is accepted once: a repeat within the clock-skew window is
// refused as a replay. The signatures used are remembered in the node's
// shared cache (so they survive reloads) and, when the configuration has
// [redis], in Redis, so that a signature used on one node is refused on
// every node. While Redis fails, each node refuses the repeats it saw
// itself, and logs that it does (core/marks).
package hmacauth
