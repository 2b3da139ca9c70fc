package config

import (
	"slices"
	"strconv"
	"strings"
)

// checkShadowedRoutes reports the route paths that can never be selected:
// an earlier route has the same path pattern (parameter names aside) and
// matches every host and method of the later one. The router tries routes
// of equal precedence in file order, so the later one never gets a request
// on that path — almost always a copy-paste mistake, and an error, as
// nginx's "duplicate location" is.
func (c *Config) checkShadowedRoutes(rep *reporter) {
	type seen struct {
		route, path int
		pattern     string
	}
	var earlier []seen
	for i := range c.Routes {
		r := &c.Routes[i]
		var mine []seen
		for j, p := range r.Paths {
			if CheckPathPattern(p) != "" {
				continue
			}
			pat := pathShape(p)
			for _, e := range earlier {
				a := &c.Routes[e.route]
				if e.pattern != pat || !coversHosts(a.Hosts, r.Hosts) || !coversMethods(a.Methods, r.Methods) {
					continue
				}
				at := rep.file
				if n := rep.lines.line(indexPath(childPath(indexPath("routes", e.route), "paths"), e.path)); n > 0 {
					at += ":" + strconv.Itoa(n)
				}
				rep.add(indexPath(childPath(indexPath("routes", i), "paths"), j),
					"route "+strconv.Quote(r.Name)+" can never be selected for "+strconv.Quote(p)+": route "+
						strconv.Quote(a.Name)+" at "+at+" has the same path and matches all its hosts and methods first")
				break
			}
			mine = append(mine, seen{route: i, path: j, pattern: pat})
		}
		earlier = append(earlier, mine...)
	}
}

// pathShape returns a route path with its parameter names left out, so
// that "/users/{id}" and "/users/{uid}" compare equal.
func pathShape(p string) string {
	if !strings.Contains(p, "{") {
		return p
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// coversHosts reports whether a route with hosts a is tried first for every
// request that a later route with hosts b matches. A route naming hosts is
// tried before the routes without any, so only a route without hosts
// covers another one without hosts.
func coversHosts(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) == 0
	}
	return subset(b, a)
}

// coversMethods reports whether a route with methods a (none: any method)
// matches every method of a route with methods b.
func coversMethods(a, b []string) bool {
	if len(a) == 0 {
		return true
	}
	return len(b) > 0 && subset(b, a)
}

func subset(b, a []string) bool {
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}
