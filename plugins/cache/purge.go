package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/plugins/cache/clustersync"
	"github.com/valyala/fasthttp"
)

// namespace is the proxy cache's namespace of the shared store, shared by
// every cache step and the admin API's purges.
const namespace = "proxy"

func init() { plugin.HandleAdmin("POST", "/cache/purge", adminPurge) }

// adminPurge purges the proxy cache on the admin API:
//
//	POST /cache/purge   a JSON body such as {"url": "/users/42"},
//	                    {"prefix": "/users/"}, {"route": "users"},
//	                    {"tag": "user-42"}, {"tags": ["a", "b"]} or
//	                    {"all": true} sent as application/json, or the
//	                    same as query arguments with no body
//	                    (?prefix=/users/)
func adminPurge(r *plugin.AdminRequest) {
	var p Purge
	// The admin API lets a body through only as application/json.
	if body := bytes.TrimSpace(r.Ctx.PostBody()); len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			r.Error(400, "invalid purge body: "+err.Error())
			return
		}
	} else {
		args := r.Ctx.QueryArgs()
		p.URL = string(args.Peek("url"))
		p.Prefix = string(args.Peek("prefix"))
		p.Route = string(args.Peek("route"))
		p.Tag = string(args.Peek("tag"))
		all := string(args.Peek("all"))
		p.All = all == "true" || all == "1"
	}
	if r.Config.Server.CaseInsensitivePaths {
		// Request paths were lower-cased before the cache saw them.
		p.URL, p.Prefix = strings.ToLower(p.URL), strings.ToLower(p.Prefix)
	}
	if p.Route != "" && !hasRoute(r.Config, p.Route) {
		r.Error(404, "no route named "+strconv.Quote(p.Route))
		return
	}
	ns := r.Store.Namespace(namespace)
	marks := marksOf(ns)
	done, err := p.apply(ns, marks)
	if err != nil {
		r.Error(400, err.Error())
		return
	}
	r.Logger.Info("cache purged", "what", strings.Join(done, ", "), "cluster", marks.clusterOf() != nil)
	r.JSON(200, map[string]any{"purged": done})
}

func hasRoute(cfg *config.Config, name string) bool {
	for i := range cfg.Routes {
		if cfg.Routes[i].Name == name {
			return true
		}
	}
	return false
}

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

// ops returns what p asks for as purges, normalized (the form they are
// published in): everything, URLs' paths, prefixes ending in "/", routes,
// tags.
func (p Purge) ops() ([]clustersync.Op, error) {
	if p.Empty() {
		return nil, errors.New(`nothing to purge: give one of "url", "prefix", "route", "tag", "tags" or "all"`)
	}
	var ops []clustersync.Op
	if p.All {
		ops = append(ops, clustersync.Op{Kind: clustersync.KindAll})
	}
	if p.URL != "" {
		ops = append(ops, clustersync.Op{Kind: kindURL, Key: string(normalizePath(p.URL))})
	}
	if p.Prefix != "" {
		pfx := string(normalizePath(p.Prefix))
		if !strings.HasSuffix(pfx, "/") {
			pfx += "/"
		}
		ops = append(ops, clustersync.Op{Kind: kindPrefix, Key: pfx})
	}
	if p.Route != "" {
		ops = append(ops, clustersync.Op{Kind: kindRoute, Key: p.Route})
	}
	for _, t := range append([]string{p.Tag}, p.Tags...) {
		if t = strings.TrimSpace(t); t != "" {
			ops = append(ops, clustersync.Op{Kind: kindTag, Key: t})
		}
	}
	return ops, nil
}

// apply performs p on the proxy cache's namespace ns and its marks, each
// kind in O(1) (a generation renewed or a mark recorded), queues it for
// the other nodes when the namespace has a cluster sync (without waiting
// for Redis), and returns what it did, for the admin API's answer.
func (p Purge) apply(ns *store.Namespace, marks *markSet) ([]string, error) {
	ops, err := p.ops()
	if err != nil {
		return nil, err
	}
	cluster := marks.clusterOf()
	done := make([]string, 0, len(ops))
	for _, op := range ops {
		applyOp(ns, marks, op)
		done = append(done, describe(op))
		if cluster != nil {
			cluster.Publish(op)
		}
	}
	return done, nil
}

// applyOp performs one purge this node made.
func applyOp(ns *store.Namespace, marks *markSet, op clustersync.Op) {
	switch op.Kind {
	case clustersync.KindAll:
		ns.Purge()
	case kindURL:
		purgePath(ns, []byte(op.Key))
	case kindPrefix:
		marks.purgePrefix(op.Key)
	case kindRoute:
		marks.mark(scopeRoute, op.Key)
	case kindTag:
		marks.mark(scopeTag, op.Key)
	}
}

// describe says what op purged, for the admin API's answer: "all",
// "url /x", "prefix /x/", "route r", "tag t".
func describe(op clustersync.Op) string {
	if op.Kind == clustersync.KindAll {
		return "all"
	}
	return op.Kind + " " + op.Key
}

// purgePath drops every entry derived from path: the path's generation
// (store.Namespace.KeyGeneration) is part of their keys.
func purgePath(ns *store.Namespace, path []byte) { ns.RenewKeyGeneration(path) }

// purgePrefix drops every entry whose path is prefix or lies under
// prefix + "/".
func (s *markSet) purgePrefix(prefix string) {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	s.mark(scopePrefix, prefix)
}

// normalizePath returns the path of a URL ("/a/../b%20c", "http://h/x?q",
// "/x?q") decoded and normalized the way the gateway normalizes request
// paths before routing, so that a purge names what requests were keyed on.
func normalizePath(url string) []byte {
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

// invalidateAfter drops the cached responses of an unsafe request's URL,
// and of its Location and Content-Location on the same host, when it
// succeeded (RFC 9111 §4.4).
func (p *Plugin) invalidateAfter(c *plugin.Context, st *state) {
	s := c.Response.StatusCode()
	if s < 200 || s >= 400 {
		return
	}
	purgePath(p.ns, st.path)
	p.publish(kindURL, st.path)
	p.n.invalidated.Add(1)
	for _, name := range [...]string{"Location", "Content-Location"} {
		loc := c.Response.Header.Peek(name)
		if len(loc) == 0 {
			continue
		}
		path, ok := sameHostPath(loc, st.host)
		if ok {
			purgePath(p.ns, path)
			p.publish(kindURL, path)
		}
	}
}

// sameHostPath returns the normalized path of a Location value when it is
// relative or names host.
func sameHostPath(loc, host []byte) ([]byte, bool) {
	if len(loc) > 0 && loc[0] == '/' && !(len(loc) > 1 && loc[1] == '/') {
		return normalizePath(string(loc)), true
	}
	var u fasthttp.URI
	if err := u.Parse(nil, loc); err != nil {
		return nil, false
	}
	if !bytes.EqualFold(u.Host(), host) {
		return nil, false
	}
	return append([]byte(nil), u.Path()...), true
}

// purgeRequest answers a PURGE of the request's URL.
func (p *Plugin) purgeRequest(c *plugin.Context) error {
	if !p.purgeAllowed(c) {
		return plugin.NewError(403, "purge not allowed")
	}
	purgePath(p.ns, c.Path())
	p.publish(kindURL, c.Path())
	body := append([]byte(`{"purged":`), strconv.Quote("url "+string(c.Path()))...)
	c.Respond(200, "application/json", append(body, "}\n"...))
	return nil
}
