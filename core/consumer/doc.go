// Package consumer holds the clients of the gateway: the Consumer an
// authentication step sets on a request, and the Registry of one
// configuration's [[consumers]] with their credentials.
//
// A Registry is built from [[consumers]] on every configuration load and
// is immutable: a reload builds a new one, so a deleted consumer or
// credential stops working with the reload.
//
// The registry knows consumers by name; it knows nothing of credentials.
// Each kind of credential (the keys of [[consumers]] such as keys,
// basic_auth, jwt_secrets, hmac_secrets) is registered by the plugin that
// authenticates with it (RegisterCredential), which decodes, checks and
// indexes them in the form its checks need, and no more: API keys and
// plain passwords as SHA-256, bcrypt hashes as they are, HMAC and JWT
// keys as given. A new kind of credential touches its plugin only.
//
// What authentication steps have in common (the step around an
// Authenticator, the identity headers) is core/authstep.
package consumer
