package config

import (
	"crypto/sha256"
	"strconv"
	"strings"
)

// Consumer is a client of the gateway ([[consumers]]) with the
// credentials that identify it. Secrets may be written inline, as
// "${ENV}" or as "file:/path" (see Secret).
type Consumer struct {
	// Name identifies the consumer (X-Consumer-Name, ACLs, logs). Required, unique.
	Name string `toml:"name"`
	// Groups are the consumer's groups, for the acl plugin. Default: none.
	Groups []string `toml:"groups"`
	// Keys are the consumer's API keys for key-auth. A key may also be
	// written as "sha256:<64 hex digits>", its SHA-256, so that the key
	// itself is in no file. Keys are held in memory as SHA-256 only.
	Keys []Secret `toml:"keys"`
	// BasicAuth are username/password pairs for basic-auth.
	BasicAuth []BasicCredential `toml:"basic_auth"`
	// JWTSecrets are the keys that verify the consumer's JWTs.
	JWTSecrets []JWTSecret `toml:"jwt_secrets"`
	// HMACSecrets are the shared secrets of hmac-auth.
	HMACSecrets []HMACSecret `toml:"hmac_secrets"`
}

// BasicCredential is one basic-auth username and password.
type BasicCredential struct {
	// Username is unique across consumers. Required.
	Username string `toml:"username"`
	// Password is a bcrypt hash ("$2b$..."; recommended, e.g. from
	// `htpasswd -nbBC 10 user pass`) or the password itself, then held in
	// memory as SHA-256 only. Required.
	Password Secret `toml:"password"`
}

// JWTSecret is a key verifying a consumer's tokens: a token whose key
// claim (the jwt step's key_claim, "iss" by default) equals Key is
// verified with Secret and, if valid, identifies the consumer.
type JWTSecret struct {
	// Key is the value of the token's key claim. Required, unique.
	Key string `toml:"key"`
	// Secret is the HMAC secret for HS256/384/512, or a PEM public key
	// (inline or "file:key.pem") for RS*, PS*, ES* and EdDSA. Required.
	Secret Secret `toml:"secret"`
	// Algorithm is the only algorithm accepted with this key. Default "HS256".
	Algorithm string `toml:"algorithm"`
}

// SetDefaults implements Defaulter.
func (j *JWTSecret) SetDefaults() { j.Algorithm = "HS256" }

// HMACSecret is a shared secret of hmac-auth.
type HMACSecret struct {
	// Key is the key ID clients send (keyId= in the signature). Required, unique.
	Key string `toml:"key"`
	// Secret is the shared secret. Required.
	Secret Secret `toml:"secret"`
}

// Auth configures what every authentication step sends upstream about the
// consumer it authenticated ([auth]). Client-sent headers of these names,
// in any case and with any non-alphanumeric byte for "-" ("_", "."), are
// removed from every request before the chain runs, and by every
// authentication step before it sets its own. "" turns a header off.
type Auth struct {
	// ConsumerHeader carries the consumer's name. Default "X-Consumer-Name".
	ConsumerHeader string `toml:"consumer_header"`
	// GroupsHeader carries the consumer's groups, comma-separated. Default "X-Consumer-Groups".
	GroupsHeader string `toml:"groups_header"`
	// CredentialHeader carries the ID of the credential used (never the
	// secret). Default "X-Credential-Identifier".
	CredentialHeader string `toml:"credential_header"`
	// AnonymousHeader is "true" when the request got the anonymous
	// consumer. Default "X-Anonymous-Consumer".
	AnonymousHeader string `toml:"anonymous_header"`
	// StripHeaders are more client headers to remove (with the same
	// variants), such as those a forward-auth or jwt step sets. Default: none.
	StripHeaders []string `toml:"strip_headers"`
}

// DefaultAuth returns [auth] with its defaults.
func DefaultAuth() Auth {
	return Auth{ConsumerHeader: "X-Consumer-Name", GroupsHeader: "X-Consumer-Groups",
		CredentialHeader: "X-Credential-Identifier", AnonymousHeader: "X-Anonymous-Consumer"}
}

// JWTAlgorithms are the JWT algorithms moongate verifies ("none" is never one).
var JWTAlgorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// IsJWTAlgorithm reports whether alg is one of JWTAlgorithms (exact case).
func IsJWTAlgorithm(alg string) bool {
	for _, a := range JWTAlgorithms {
		if a == alg {
			return true
		}
	}
	return false
}

// KeyHash returns the SHA-256 of an API key as written in [[consumers]]
// keys: the digest of the key, or the digest given as "sha256:<hex>".
// ok is false for a malformed "sha256:" value.
func KeyHash(key string) (sum [32]byte, ok bool) {
	if h, found := strings.CutPrefix(key, "sha256:"); found {
		if len(h) != 64 {
			return sum, false
		}
		for i := 0; i < 32; i++ {
			hi, ok1 := unhex(h[2*i])
			lo, ok2 := unhex(h[2*i+1])
			if !ok1 || !ok2 {
				return sum, false
			}
			sum[i] = hi<<4 | lo
		}
		return sum, true
	}
	return sha256.Sum256([]byte(key)), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// checkConsumers checks [[consumers]] and [auth]. Messages never contain
// a secret: duplicates are reported by position.
func (c *Config) checkConsumers(rep *reporter) {
	names := map[string]string{}
	keys := map[[32]byte]string{}
	users := map[string]string{}
	jwtKeys := map[string]string{}
	hmacKeys := map[string]string{}
	secret := func(path string, s Secret) bool {
		if p := s.Problem(); p != "" {
			rep.add(path, p)
			return false
		}
		if s.Empty() {
			rep.add(path, "is required")
			return false
		}
		return true
	}
	for i := range c.Consumers {
		cs := &c.Consumers[i]
		p := indexPath("consumers", i)
		switch {
		case cs.Name == "":
			rep.add(childPath(p, "name"), "is required")
		case !visibleASCII(cs.Name) || strings.ContainsAny(cs.Name, ","):
			rep.add(childPath(p, "name"), "must be printable ASCII without spaces or commas, got "+strconv.Quote(cs.Name))
		case names[cs.Name] != "":
			rep.add(childPath(p, "name"), "duplicate consumer name "+strconv.Quote(cs.Name)+" (first at "+names[cs.Name]+")")
		default:
			names[cs.Name] = p
		}
		for j, g := range cs.Groups {
			if g == "" || !visibleASCII(g) || strings.ContainsAny(g, ",") {
				rep.add(indexPath(childPath(p, "groups"), j), "must be printable ASCII without spaces or commas, got "+strconv.Quote(g))
			}
		}
		for j, k := range cs.Keys {
			kp := indexPath(childPath(p, "keys"), j)
			if !secret(kp, k) {
				continue
			}
			sum, ok := KeyHash(k.Value())
			if !ok {
				rep.add(kp, `"sha256:" must be followed by 64 hex digits`)
				continue
			}
			if first := keys[sum]; first != "" {
				rep.add(kp, "the same key is already given at "+first+": a key must identify one consumer")
				continue
			}
			keys[sum] = kp
		}
		for j := range cs.BasicAuth {
			b := &cs.BasicAuth[j]
			bp := indexPath(childPath(p, "basic_auth"), j)
			switch {
			case b.Username == "":
				rep.add(childPath(bp, "username"), "is required")
			case strings.ContainsAny(b.Username, ":") || !visibleASCII(b.Username):
				rep.add(childPath(bp, "username"), "must be printable ASCII without spaces or ':', got "+strconv.Quote(b.Username))
			case users[b.Username] != "":
				rep.add(childPath(bp, "username"), "duplicate username "+strconv.Quote(b.Username)+" (first at "+users[b.Username]+")")
			default:
				users[b.Username] = bp
			}
			secret(childPath(bp, "password"), b.Password)
		}
		for j := range cs.JWTSecrets {
			js := &cs.JWTSecrets[j]
			jp := indexPath(childPath(p, "jwt_secrets"), j)
			switch {
			case js.Key == "":
				rep.add(childPath(jp, "key"), "is required")
			case jwtKeys[js.Key] != "":
				rep.add(childPath(jp, "key"), "duplicate key "+strconv.Quote(js.Key)+" (first at "+jwtKeys[js.Key]+")")
			default:
				jwtKeys[js.Key] = jp
			}
			if !IsJWTAlgorithm(js.Algorithm) {
				rep.add(childPath(jp, "algorithm"), "must be one of "+strings.Join(JWTAlgorithms, ", ")+", got "+strconv.Quote(js.Algorithm))
			}
			secret(childPath(jp, "secret"), js.Secret)
		}
		for j := range cs.HMACSecrets {
			hs := &cs.HMACSecrets[j]
			hp := indexPath(childPath(p, "hmac_secrets"), j)
			switch {
			case hs.Key == "":
				rep.add(childPath(hp, "key"), "is required")
			case !visibleASCII(hs.Key) || strings.ContainsAny(hs.Key, `",`):
				rep.add(childPath(hp, "key"), `must be printable ASCII without spaces, '"' or ',', got `+strconv.Quote(hs.Key))
			case hmacKeys[hs.Key] != "":
				rep.add(childPath(hp, "key"), "duplicate key "+strconv.Quote(hs.Key)+" (first at "+hmacKeys[hs.Key]+")")
			default:
				hmacKeys[hs.Key] = hp
			}
			secret(childPath(hp, "secret"), hs.Secret)
		}
	}
	a := &c.Auth
	for _, h := range []struct{ key, name string }{{"consumer_header", a.ConsumerHeader},
		{"groups_header", a.GroupsHeader}, {"credential_header", a.CredentialHeader}, {"anonymous_header", a.AnonymousHeader}} {
		if h.name != "" && !IsToken(h.name) {
			rep.add("auth."+h.key, "must be a header name, got "+strconv.Quote(h.name))
		}
	}
	for i, h := range a.StripHeaders {
		if !IsToken(h) {
			rep.add(indexPath("auth.strip_headers", i), "must be a header name, got "+strconv.Quote(h))
		}
	}
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}
