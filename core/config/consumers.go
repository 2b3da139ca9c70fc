package config

import (
	"strconv"
	"strings"
)

// Consumer is a client of the gateway ([[consumers]]) with the
// credentials that identify it.
type Consumer struct {
	// Name identifies the consumer (X-Consumer-Name, ACLs, logs). Required, unique.
	Name string `toml:"name"`
	// Groups are the consumer's groups, for the acl plugin. Default: none.
	Groups []string `toml:"groups"`
	// Credentials are the consumer's other keys, one per kind of
	// credential: keys (key-auth), basic_auth, jwt_secrets, hmac_secrets,
	// ... Each kind is registered, decoded and checked by the plugin that
	// authenticates with it (core/consumer.RegisterCredential), when the
	// configuration is built; a key that no plugin registered is reported
	// then. Secrets may be written inline, as "${ENV}" or as "file:/path"
	// (see Secret). Unlike other tables, it is not a copy: it holds on to
	// the parsed file until the configuration is dropped. The gateway's
	// runtime keeps a configuration without its consumers (the registry
	// holds what it needs of them).
	Credentials Table `toml:",remain"`
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

// checkConsumers checks [[consumers]] (their names and groups: their
// credentials are their plugins' to check) and [auth].
func (c *Config) checkConsumers(rep *reporter) {
	names := make(map[string]int, len(c.Consumers)) // name -> index of its first consumer
	for i := range c.Consumers {
		cs := &c.Consumers[i]
		// The path is made for a problem only: there may be a million.
		p := func(key string) string { return childPath(indexPath("consumers", i), key) }
		switch {
		case cs.Name == "":
			rep.add(p("name"), "is required")
		case !IsVisibleASCII(cs.Name) || strings.ContainsAny(cs.Name, ","):
			rep.add(p("name"), "must be printable ASCII without spaces or commas, got "+strconv.Quote(cs.Name))
		default:
			if first, dup := names[cs.Name]; dup {
				rep.add(p("name"), "duplicate consumer name "+strconv.Quote(cs.Name)+" (first at "+indexPath("consumers", first)+")")
			} else {
				names[cs.Name] = i
			}
		}
		for j, g := range cs.Groups {
			if g == "" || !IsVisibleASCII(g) || strings.ContainsAny(g, ",") {
				rep.add(indexPath(p("groups"), j), "must be printable ASCII without spaces or commas, got "+strconv.Quote(g))
			}
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

// IsVisibleASCII reports whether s is not empty and made of printable
// ASCII without spaces (0x21 to 0x7e): the rule of names written in
// configurations that end up in headers and logs (consumers, groups,
// credential IDs).
func IsVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return s != ""
}
