// Package jwt is the "jwt" plugin: it authenticates requests by a JSON Web
// Token (RFC 7519) verified with github.com/golang-jwt/jwt/v5.
//
//	[[routes.plugins]]
//	name = "jwt"
//	[routes.plugins.config]
//	algorithms = ["RS256", "ES256"]          # required; "none" is never accepted
//	jwks_url = "https://idp.example.com/.well-known/jwks.json"
//	issuers = ["https://idp.example.com/"]
//	audiences = ["orders-api"]
//	leeway = "30s"
//	claims_to_headers = { email = "X-User-Email" }
//
// Keys come from [[consumers]] jwt_secrets (found by the token's "iss"),
// from static keys (keys = [{ kid, algorithm, secret | public_key }]) or
// from a JWK Set file or URL read in the background. Every key is bound to
// one algorithm (or, for JWKS keys without "alg", to the algorithms of its
// type), so an HS256 token can never be checked with an RSA public key.
// The token's kid is only a name to look keys up by; jku and x5u are
// never followed. Verified tokens are remembered (bounded, never past
// their exp) so a repeat token costs a map lookup.
package jwt
