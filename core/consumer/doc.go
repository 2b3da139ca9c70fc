// Package consumer holds the clients of the gateway: the Consumer an
// authentication step sets on a request, and the Registry of one
// configuration's [[consumers]] with their credentials.
//
// A Registry is built from [[consumers]] on every configuration load and
// is immutable: a reload builds a new one, so a deleted consumer or
// credential stops working with the reload. Secrets are held in the form
// their check needs and no more: API keys and plain passwords as SHA-256,
// bcrypt hashes as they are, HMAC and JWT keys as given.
//
// What authentication steps have in common (the step around an
// Authenticator, the identity headers) is core/authstep.
package consumer
