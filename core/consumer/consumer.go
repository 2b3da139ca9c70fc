package consumer

// Consumer is the authenticated client of a request, set on the request
// context by an authentication step. It is shared by every request of
// that consumer and credential, and must not be modified.
type Consumer struct {
	// Name is the consumer's name from [[consumers]].
	Name string
	// Groups are the consumer's groups, for ACLs.
	Groups []string
	// CredentialID names the credential that authenticated the request
	// (never the secret itself); "" for the anonymous consumer and for
	// consumers looked up by name.
	CredentialID string
	// Anonymous is true for the consumer a step gives a request that
	// presented no credentials (the steps' anonymous option).
	Anonymous bool
}
