// Package multiauth is the "multi-auth" plugin: it combines several
// authentication methods on one route, as one step.
//
//	[[routes.plugins]]
//	name = "multi-auth"
//	[routes.plugins.config]
//	mode = "any"            # "any": the first method that succeeds; "all": every one must
//	anonymous = "guest"     # consumer for requests that present no credentials at all
//
//	  [[routes.plugins.config.steps]]
//	  name = "key-auth"
//	  [routes.plugins.config.steps.config]
//	  header = "X-API-Key"
//
//	  [[routes.plugins.config.steps]]
//	  name = "jwt"
//	  [routes.plugins.config.steps.config]
//	  algorithms = ["RS256"]
//	  jwks_url = "https://idp.example.com/jwks.json"
//
// In "any" mode the methods are tried in order and the first that
// authenticates sets the consumer; wrong credentials for one method do not
// stop the next from being tried, but if none succeeds the answer is 401
// with every method's challenge. In "all" mode every method must succeed
// and all must identify the same consumer (the first method's credential
// ID is kept). The anonymous consumer is given only when no method found
// any credential. Each method is a plugin registered as an authentication
// step (key-auth, basic-auth, jwt, hmac-auth, session in check mode);
// their own anonymous option is not allowed here.
package multiauth
