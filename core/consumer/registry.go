package consumer

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/ttlmap"
	"golang.org/x/crypto/bcrypt"
)

// Registry holds the consumers of one configuration and their
// credentials. It is immutable once built and safe for concurrent use.
//
// Every credential has its own *Consumer (same name and groups,
// its own CredentialID), built once, so authenticating a request
// allocates nothing.
type Registry struct {
	byName    map[string]*Consumer
	anonymous map[string]*Consumer
	session   map[string]*Consumer
	keys      map[[32]byte]*Consumer
	basic     map[string]*basicCred
	jwt       map[string]*JWTKey
	hmac      map[string]*HMACKey

	// Positive bcrypt results, keyed by an HMAC of user and password
	// under a key of this registry: a correct password is checked by
	// bcrypt once, not on every request.
	basicKey  [32]byte
	basicSeen *ttlmap.Map[*Consumer]
	dummyHash []byte // bcrypt hash checked for unknown users, so timing does not tell users apart
}

type basicCred struct {
	consumer *Consumer
	bcrypt   []byte   // bcrypt hash, or nil
	sum      [32]byte // SHA-256 of a plain password
}

// JWTKey is a key verifying a consumer's JWTs.
type JWTKey struct {
	// Consumer is the consumer the key belongs to.
	Consumer *Consumer
	// Algorithm is the only algorithm accepted with the key.
	Algorithm string
	// Key is []byte for HS*, *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey otherwise.
	Key any
}

// HMACKey is a shared secret of hmac-auth.
type HMACKey struct {
	// Consumer is the consumer the key belongs to.
	Consumer *Consumer
	// Secret is the shared secret; never log it.
	Secret []byte
}

// basicCacheSize bounds the remembered correct bcrypt passwords.
const basicCacheSize = 4096

// basicCacheTTL is how long a checked password is remembered.
const basicCacheTTL = 5 * time.Minute

// New builds the registry of cfg.Consumers (already checked by the config
// package). Secrets that cannot be used, such as a PEM key that does not
// parse, are reported as config.Problems, without the secret.
func New(cfg *config.Config) (*Registry, error) {
	r := &Registry{
		byName:    map[string]*Consumer{},
		anonymous: map[string]*Consumer{},
		session:   map[string]*Consumer{},
		keys:      map[[32]byte]*Consumer{},
		basic:     map[string]*basicCred{},
		jwt:       map[string]*JWTKey{},
		hmac:      map[string]*HMACKey{},
		basicSeen: ttlmap.New[*Consumer](basicCacheSize),
	}
	if _, err := rand.Read(r.basicKey[:]); err != nil {
		return nil, err
	}
	var problems config.Problems
	minCost := 0
	for i := range cfg.Consumers {
		cs := &cfg.Consumers[i]
		p := "consumers[" + strconv.Itoa(i) + "]"
		groups := append([]string(nil), cs.Groups...)
		with := func(cred string) *Consumer {
			return &Consumer{Name: cs.Name, Groups: groups, CredentialID: cred}
		}
		r.byName[cs.Name] = with("")
		r.anonymous[cs.Name] = &Consumer{Name: cs.Name, Groups: groups, Anonymous: true}
		r.session[cs.Name] = with(cs.Name + ":session")
		for j, k := range cs.Keys {
			sum, ok := config.KeyHash(k.Value())
			if ok {
				r.keys[sum] = with(cs.Name + ":key-auth:" + strconv.Itoa(j))
			}
		}
		for j := range cs.BasicAuth {
			b := &cs.BasicAuth[j]
			bc := &basicCred{consumer: with(cs.Name + ":basic-auth:" + b.Username)}
			pw := b.Password.Value()
			if strings.HasPrefix(pw, "$2a$") || strings.HasPrefix(pw, "$2b$") || strings.HasPrefix(pw, "$2y$") {
				cost, err := bcrypt.Cost([]byte(pw))
				if err != nil {
					problems = append(problems, cfg.Problem(p+".basic_auth["+strconv.Itoa(j)+"].password", "is not a valid bcrypt hash"))
					continue
				}
				if minCost == 0 || cost < minCost {
					minCost = cost
				}
				bc.bcrypt = []byte(pw)
			} else {
				bc.sum = sha256.Sum256([]byte(pw))
			}
			r.basic[b.Username] = bc
		}
		for j := range cs.JWTSecrets {
			js := &cs.JWTSecrets[j]
			if js.Secret.Problem() != "" || js.Secret.Empty() {
				continue // reported by the config check
			}
			key, err := ParseJWTKey(js.Algorithm, js.Secret.Value())
			if err != nil {
				problems = append(problems, cfg.Problem(p+".jwt_secrets["+strconv.Itoa(j)+"].secret", err.Error()))
				continue
			}
			r.jwt[js.Key] = &JWTKey{Consumer: with(cs.Name + ":jwt:" + js.Key), Algorithm: js.Algorithm, Key: key}
		}
		for j := range cs.HMACSecrets {
			hs := &cs.HMACSecrets[j]
			r.hmac[hs.Key] = &HMACKey{Consumer: with(cs.Name + ":hmac-auth:" + hs.Key), Secret: []byte(hs.Secret.Value())}
		}
	}
	if minCost > 0 { // some password is a bcrypt hash
		h, err := bcrypt.GenerateFromPassword([]byte("moongate dummy password"), minCost)
		if err != nil {
			return nil, err
		}
		r.dummyHash = h
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return r, nil
}

// Empty returns a registry without consumers, for plugins built without
// a configuration (in tests).
func Empty() *Registry { return empty }

var empty, _ = New(&config.Config{})

// Consumer returns the consumer called name (CredentialID ""), nil if
// there is none.
func (r *Registry) Consumer(name string) *Consumer { return r.byName[name] }

// ConsumerBytes is Consumer for a name in a []byte, without allocating.
func (r *Registry) ConsumerBytes(name []byte) *Consumer { return r.byName[string(name)] }

// Anonymous returns the consumer called name marked Anonymous, for the
// anonymous option of authentication steps; nil if there is none.
func (r *Registry) Anonymous(name string) *Consumer { return r.anonymous[name] }

// Session returns the consumer called name as authenticated by a session
// cookie (CredentialID "<name>:session"), nil if there is none.
func (r *Registry) Session(name []byte) *Consumer { return r.session[string(name)] }

// ByKeyHash returns the consumer whose API key has SHA-256 sum, or nil.
func (r *Registry) ByKeyHash(sum [32]byte) *Consumer {
	return r.keys[sum]
}

// Basic checks a basic-auth username and password and returns their
// consumer, or nil. Plain passwords are compared by SHA-256 in constant
// time; bcrypt hashes are checked once and the success remembered for a
// few minutes (keyed by an HMAC of both under a random key), so that a
// client sending the same header on every request pays for bcrypt once.
func (r *Registry) Basic(user, pass []byte) *Consumer {
	bc := r.basic[string(user)]
	if bc == nil {
		if r.dummyHash != nil {
			bcrypt.CompareHashAndPassword(r.dummyHash, pass) //nolint:errcheck // timing only
		}
		return nil
	}
	if bc.bcrypt == nil {
		sum := sha256.Sum256(pass)
		if subtle.ConstantTimeCompare(sum[:], bc.sum[:]) == 1 {
			return bc.consumer
		}
		return nil
	}
	mac := hmac.New(sha256.New, r.basicKey[:])
	mac.Write(user)
	mac.Write([]byte{0})
	mac.Write(pass)
	var buf [32]byte
	id := mac.Sum(buf[:0])
	now := time.Now()
	if c, ok := r.basicSeen.Get(id, now); ok && c == bc.consumer {
		return c
	}
	if bcrypt.CompareHashAndPassword(bc.bcrypt, pass) != nil {
		return nil
	}
	r.basicSeen.Set(id, bc.consumer, now.Add(basicCacheTTL))
	return bc.consumer
}

// JWTKey returns the consumer key whose key claim value is key, or nil.
func (r *Registry) JWTKey(key []byte) *JWTKey { return r.jwt[string(key)] }

// HasJWTKeys reports whether any consumer has jwt_secrets.
func (r *Registry) HasJWTKeys() bool { return len(r.jwt) > 0 }

// HMACKey returns the hmac-auth key with ID id, or nil.
func (r *Registry) HMACKey(id []byte) *HMACKey { return r.hmac[string(id)] }

// ParseJWTKey turns a configured key into what verifies alg: the secret
// itself for HS* (at least as long as the hash, RFC 7518 §3.2), or a PEM
// public key (PKIX "PUBLIC KEY", PKCS #1 "RSA PUBLIC KEY" or a
// certificate) of the algorithm's type. Errors never contain the key.
func ParseJWTKey(alg, secret string) (any, error) {
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
