// Package authstep is what authentication steps have in common, for the
// plugins that authenticate requests (key-auth, basic-auth, jwt,
// hmac-auth, forward-auth, session) and the multi-auth plugin that
// combines them.
//
// A plugin implements Authenticator and runs it through an Auth (its
// step): the client's identity headers are removed, the consumer is set
// on the context, the identity headers are sent upstream, and a failure
// is answered 401 with a WWW-Authenticate challenge. The multi-auth
// plugin combines several Authenticators ("any" or "all"). Identity is
// also used by the gateway, which removes the identity headers from
// every request before the chain runs.
package authstep
