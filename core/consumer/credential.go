package consumer

import (
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/registry"
)

// A kind of credential is a key of [[consumers]] ("keys", "basic_auth",
// "jwt_secrets", "hmac_secrets", ...), registered by the plugin that
// authenticates requests with it, with RegisterCredential. Every
// configuration load builds a fresh index of each kind from the consumers
// that hold such credentials (Index.Add), and the plugin finds its index
// in the registry of the configuration it is built in (Credential.In).
// A new kind of credential touches its plugin only.

// Index holds one kind of credential of every consumer of a
// configuration, in the form its plugin's checks need. It is built by the
// registry, one Add per consumer with such credentials, in configuration
// order; then only read, by requests, concurrently: it must be safe for
// concurrent reads.
type Index interface {
	// Add decodes, checks and indexes the credentials that owner holds
	// under the kind's key. t is the consumer's table with that key alone
	// (t.Decode into a struct with a field for it; t.Problem with a path
	// under it, "jwt_secrets[0].secret"). Problems are returned as
	// config.Problem or config.Problems and never show a secret.
	Add(owner *Owner, t config.Table) error
}

// Finisher is implemented by indexes that have work to do once every
// consumer was added (basic-auth hashes its dummy password at the cost of
// the cheapest configured one).
type Finisher interface {
	Finish() error
}

// Owner is the consumer whose credentials an Index is given.
type Owner struct {
	// Name is the consumer's name.
	Name string
	// Groups are the consumer's groups.
	Groups []string
}

// Consumer returns a new Consumer for the owner, authenticated by the
// credential called credentialID ("alice:jwt:alice-iss", never a secret):
// the one an index gives every request with that credential, built once,
// so that authenticating a request allocates nothing.
func (o *Owner) Consumer(credentialID string) *Consumer {
	return &Consumer{Name: o.Name, Groups: o.Groups, CredentialID: credentialID}
}

// Credential is a kind of credential, as RegisterCredential returns it.
type Credential[I Index] struct {
	key      string
	newIndex func() I
}

// kind is a Credential without its index type, for the registry.
type kind interface {
	makeIndex() Index
}

func (k *Credential[I]) makeIndex() Index { return k.newIndex() }

var kinds = registry.New[kind]("credential kind")

// RegisterCredential makes key a key of [[consumers]] holding a kind of
// credential; newIndex makes an empty index of them for each
// configuration load. The returned Credential finds the index of a
// registry. It is meant to be called once, from a package variable or
// init of the plugin that checks such credentials; an empty or duplicate
// key, or "name" or "groups", panics, naming both places of registration.
func RegisterCredential[I Index](key string, newIndex func() I) *Credential[I] {
	if key == "name" || key == "groups" || newIndex == nil {
		panic("consumer: RegisterCredential needs a key of its own and an index maker, got " + key)
	}
	k := &Credential[I]{key: key, newIndex: newIndex}
	kinds.Register(key, k)
	return k
}

// Key returns the kind's key in [[consumers]].
func (k *Credential[I]) Key() string { return k.key }

// In returns the kind's index in r: that of the configuration r was built
// from, or an empty one (r built before the kind was registered).
func (k *Credential[I]) In(r *Registry) I {
	if idx, ok := r.indexes[k.key].(I); ok {
		return idx
	}
	return k.newIndex()
}

// CheckSecret returns the problem of a secret of [[consumers]] at key
// (a path under t): why it could not be read, or that it is missing; nil
// when it can be used. The problem never shows the secret.
func CheckSecret(t config.Table, key string, s config.Secret) error {
	if p := s.Problem(); p != "" {
		return t.Problem(key, p)
	}
	if s.Empty() {
		return t.Problem(key, "is required")
	}
	return nil
}
