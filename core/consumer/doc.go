// Package consumer is the consumer registry of one configuration and what
// authentication steps have in common.
//
// A Registry is built from [[consumers]] on every configuration load and
// is immutable: a reload builds a new one, so a deleted consumer or
// credential stops working with the reload. Secrets are held in the form
// their check needs and no more: API keys and plain passwords as SHA-256,
// bcrypt hashes as they are, HMAC and JWT keys as given.
//
// Authentication plugins implement Authenticator and run it through an
// Auth (their step): the client's identity headers are removed, the
// consumer is set on the context, the identity headers are sent upstream,
// and a failure is answered 401 with a WWW-Authenticate challenge. The
// multi-auth plugin combines several Authenticators ("any" or "all").
package consumer
