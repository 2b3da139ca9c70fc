package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
)

// secrets are the consumers' [[consumers]] jwt_secrets: a token whose key
// claim (key_claim, "iss" by default) names one is verified with it and,
// if valid, identifies its consumer.
var secrets = consumer.RegisterCredential("jwt_secrets", newSecretIndex)

// Secret is a key verifying a consumer's tokens.
type Secret struct {
	// Key is the value of the token's key claim. Required, unique.
	Key string `toml:"key"`
	// Secret is the HMAC secret for HS256/384/512, or a PEM public key
	// (inline or "file:key.pem") for RS*, PS*, ES* and EdDSA. Required.
	Secret config.Secret `toml:"secret"`
	// Algorithm is the only algorithm accepted with this key. Default "HS256".
	Algorithm string `toml:"algorithm"`
}

// SetDefaults implements config.Defaulter.
func (s *Secret) SetDefaults() { s.Algorithm = "HS256" }

// consumerKey is a key verifying a consumer's JWTs.
type consumerKey struct {
	// consumer is the consumer the key belongs to.
	consumer *consumer.Consumer
	// algorithm is the only algorithm accepted with the key.
	algorithm string
	// key is []byte for HS*, *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey otherwise.
	key any
}

// secretIndex finds the consumer key named by a token's key claim.
type secretIndex struct {
	byKey map[string]*consumerKey
	first map[string]string // where each key was given
}

func newSecretIndex() *secretIndex {
	return &secretIndex{byKey: map[string]*consumerKey{}, first: map[string]string{}}
}

// Add implements consumer.Index.
func (x *secretIndex) Add(owner *consumer.Owner, t config.Table) error {
	var v struct {
		Secrets []Secret `toml:"jwt_secrets"`
	}
	// What could be decoded is checked too: every problem at once.
	problems := config.AsProblemsOrNil(t.Decode(&v))
	add := func(err error) { problems = append(problems, config.AsProblems(err)...) }
	for j := range v.Secrets {
		js := &v.Secrets[j]
		jp := "jwt_secrets[" + strconv.Itoa(j) + "]"
		switch {
		case js.Key == "":
			add(t.Problem(jp+".key", "is required"))
		case x.first[js.Key] != "":
			add(t.Problem(jp+".key", "duplicate key "+strconv.Quote(js.Key)+" (first at "+x.first[js.Key]+")"))
		default:
			x.first[js.Key] = t.Path() + "." + jp
		}
		if !IsAlgorithm(js.Algorithm) {
			add(t.Problem(jp+".algorithm", "must be one of "+strings.Join(Algorithms, ", ")+", got "+strconv.Quote(js.Algorithm)))
		}
		if err := consumer.CheckSecret(t, jp+".secret", js.Secret); err != nil {
			add(err)
		}
	}
	// Then the keys themselves, which the checks above do not read.
	for j := range v.Secrets {
		js := &v.Secrets[j]
		jp := "jwt_secrets[" + strconv.Itoa(j) + "]"
		if js.Secret.Problem() != "" || js.Secret.Empty() {
			continue // reported above
		}
		key, err := ParseKey(js.Algorithm, js.Secret.Value())
		if err != nil {
			add(t.Problem(jp+".secret", err.Error()))
			continue
		}
		x.byKey[js.Key] = &consumerKey{consumer: owner.Consumer(owner.Name + ":jwt:" + js.Key), algorithm: js.Algorithm, key: key}
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// find returns the consumer key whose key claim value is key, or nil.
func (x *secretIndex) find(key []byte) *consumerKey { return x.byKey[string(key)] }

// Algorithms are the JWT algorithms moongate verifies ("none" is never one).
var Algorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// IsAlgorithm reports whether alg is one of Algorithms (exact case).
func IsAlgorithm(alg string) bool {
	for _, a := range Algorithms {
		if a == alg {
			return true
		}
	}
	return false
}

// ParseKey turns a configured key into what verifies alg: the secret
// itself for HS* (at least as long as the hash, RFC 7518 §3.2), or a PEM
// public key (PKIX "PUBLIC KEY", PKCS #1 "RSA PUBLIC KEY" or a
// certificate) of the algorithm's type. Errors never contain the key.
func ParseKey(alg, secret string) (any, error) {
	if strings.HasPrefix(alg, "HS") {
		min := map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}[alg]
		if len(secret) < min {
			return nil, errors.New(alg + " needs a secret of at least " + strconv.Itoa(min) +
				" bytes (RFC 7518 §3.2), got " + strconv.Itoa(len(secret)))
		}
		return []byte(secret), nil
	}
	block, _ := pem.Decode([]byte(secret))
	if block == nil {
		return nil, errors.New(alg + " needs a PEM public key (inline or \"file:key.pem\"); no PEM block found")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, errors.New("PEM block " + strconv.Quote(block.Type) + " is not a public key (private keys do not belong here)")
	}
	if err != nil {
		return nil, errors.New("cannot parse the PEM public key: " + err.Error())
	}
	if err := KeyFits(alg, pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// KeyFits reports whether pub is a key of the type alg needs (and, for
// ES*, of the right curve).
func KeyFits(alg string, pub any) error {
	switch alg[:2] {
	case "RS", "PS":
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return errors.New(alg + " needs an RSA public key")
		}
		if k.N.BitLen() < 2048 {
			return errors.New(alg + " needs an RSA key of at least 2048 bits, got " + strconv.Itoa(k.N.BitLen()))
		}
	case "ES":
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return errors.New(alg + " needs an ECDSA public key")
		}
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		if k.Curve != want {
			return errors.New(alg + " needs a key on curve " + want.Params().Name + ", got " + k.Curve.Params().Name)
		}
	case "Ed":
		if _, ok := pub.(ed25519.PublicKey); !ok {
			return errors.New(alg + " needs an Ed25519 public key")
		}
	case "HS":
		if _, ok := pub.([]byte); !ok {
			return errors.New(alg + " needs a secret")
		}
	default:
		return errors.New("unknown algorithm " + strconv.Quote(alg))
	}
	return nil
}
