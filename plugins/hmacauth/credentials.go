package hmacauth

import (
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
)

// secrets are the consumers' [[consumers]] hmac_secrets: shared secrets,
// each with the key ID clients send (keyId= in the signature).
var secrets = consumer.RegisterCredential("hmac_secrets", newSecretIndex)

// Secret is a shared secret of hmac-auth.
type Secret struct {
	// Key is the key ID clients send (keyId= in the signature). Required, unique.
	Key string `toml:"key"`
	// Secret is the shared secret. Required.
	Secret config.Secret `toml:"secret"`
}

// sharedKey is a consumer's shared secret.
type sharedKey struct {
	consumer *consumer.Consumer
	secret   []byte // never log it
}

// secretIndex finds a shared secret by its key ID.
type secretIndex struct {
	byID  map[string]*sharedKey
	first map[string]string // where each key ID was given
}

func newSecretIndex() *secretIndex {
	return &secretIndex{byID: map[string]*sharedKey{}, first: map[string]string{}}
}

// Add implements consumer.Index.
func (x *secretIndex) Add(owner *consumer.Owner, t config.Table) error {
	var v struct {
		Secrets []Secret `toml:"hmac_secrets"`
	}
	// What could be decoded is checked too: every problem at once.
	problems := config.AsProblemsOrNil(t.Decode(&v))
	add := func(err error) { problems = append(problems, config.AsProblems(err)...) }
	for j := range v.Secrets {
		hs := &v.Secrets[j]
		hp := "hmac_secrets[" + strconv.Itoa(j) + "]"
		switch {
		case hs.Key == "":
			add(t.Problem(hp+".key", "is required"))
		case !config.IsVisibleASCII(hs.Key) || strings.ContainsAny(hs.Key, `",`):
			add(t.Problem(hp+".key", `must be printable ASCII without spaces, '"' or ',', got `+strconv.Quote(hs.Key)))
		case x.first[hs.Key] != "":
			add(t.Problem(hp+".key", "duplicate key "+strconv.Quote(hs.Key)+" (first at "+x.first[hs.Key]+")"))
		default:
			x.first[hs.Key] = t.Path() + "." + hp
		}
		if err := consumer.CheckSecret(t, hp+".secret", hs.Secret); err != nil {
			add(err)
		}
		x.byID[hs.Key] = &sharedKey{consumer: owner.Consumer(owner.Name + ":hmac-auth:" + hs.Key), secret: []byte(hs.Secret.Value())}
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// find returns the shared secret with key ID id, or nil.
func (x *secretIndex) find(id []byte) *sharedKey { return x.byID[string(id)] }
