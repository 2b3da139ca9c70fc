package store

import (
	"errors"
	"strings"

	"github.com/valyala/fasthttp"
)

// HTTPNamespace is the namespace of the proxy cache (the "cache" plugin),
// which the admin API's purges act on.
const HTTPNamespace = "proxy"

// Purge says what to drop from the proxy cache. Exactly one kind is
// expected; several are all applied.
type Purge struct {
	// URL drops every response cached for its path: every query string,
	// every variant (Vary, key headers, consumers) and every host. Scheme,
	// host and query, if given, are ignored.
	URL string `json:"url,omitempty"`
	// Prefix drops everything under a path prefix: "/api/v1" drops
	// "/api/v1" and every path under "/api/v1/".
	Prefix string `json:"prefix,omitempty"`
	// Route drops everything a route's cache steps stored.
	Route string `json:"route,omitempty"`
	// Tag drops every response that carried the tag in the step's
	// tag_header (Surrogate-Key, Cache-Tag).
	Tag string `json:"tag,omitempty"`
	// Tags drops several tags at once.
	Tags []string `json:"tags,omitempty"`
	// All drops everything in the proxy cache.
	All bool `json:"all,omitempty"`
}

// Empty reports whether p asks for nothing.
func (p Purge) Empty() bool {
	return p.URL == "" && p.Prefix == "" && p.Route == "" && p.Tag == "" && len(p.Tags) == 0 && !p.All
}

// Apply performs p on ns, each kind in O(1) (a generation renewed or a
// mark recorded), and returns what it did, for the admin API's answer.
func (ns *Namespace) Apply(p Purge) ([]string, error) {
	if p.Empty() {
		return nil, errors.New(`nothing to purge: give one of "url", "prefix", "route", "tag", "tags" or "all"`)
	}
	var done []string
	if p.All {
		ns.Purge()
		done = append(done, "all")
	}
	if p.URL != "" {
		path := NormalizePath(p.URL)
		ns.PurgePath(path)
		done = append(done, "url "+string(path))
	}
	if p.Prefix != "" {
		pfx := string(NormalizePath(p.Prefix))
		if !strings.HasSuffix(pfx, "/") {
			pfx += "/"
		}
		ns.PurgePrefix(pfx)
		done = append(done, "prefix "+pfx)
	}
	if p.Route != "" {
		ns.Mark(ScopeRoute, p.Route)
		done = append(done, "route "+p.Route)
	}
	for _, t := range append([]string{p.Tag}, p.Tags...) {
		if t = strings.TrimSpace(t); t != "" {
			ns.Mark(ScopeTag, t)
			done = append(done, "tag "+t)
		}
	}
	return done, nil
}

// PurgePath drops every entry derived from path (see KeyGeneration).
func (ns *Namespace) PurgePath(path []byte) { ns.RenewKeyGeneration(path) }

// PurgePrefix drops every entry whose path is prefix or lies under
// prefix + "/".
func (ns *Namespace) PurgePrefix(prefix string) {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	ns.Mark(ScopePrefix, prefix)
}

// NormalizePath returns the path of a URL ("/a/../b%20c", "http://h/x?q",
// "/x?q") decoded and normalized the way the gateway normalizes request
// paths before routing, so that a purge names what requests were keyed on.
func NormalizePath(url string) []byte {
	var u fasthttp.URI
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		if !strings.HasPrefix(url, "/") {
			url = "/" + url
		}
		url = "http://localhost" + url
	}
	if err := u.Parse(nil, []byte(url)); err != nil {
		return []byte("/")
	}
	return append([]byte(nil), u.Path()...)
}
