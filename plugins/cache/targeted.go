package cache

import (
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/valyala/fasthttp"
)

// Targeted cache control (RFC 9213): a response may carry, beside
// Cache-Control, fields meant for some caches only, such as
// CDN-Cache-Control for CDNs. The step reads the fields configured in
// targeted_cache_control, in that order: the first one present with a
// valid, non-empty value decides for this cache, and Cache-Control and
// Expires are then ignored; without one, Cache-Control and Expires
// decide as usual.

// cdnCacheControl is the targeted field of every CDN: it goes on to the
// client, as a CDN in front of the gateway honours it too. The other
// configured names are meant for this cache alone and are removed.
const cdnCacheControl = "CDN-Cache-Control"

// responseDirectives returns the directives that decide how the response
// is cached, and whether they come from a targeted field (then Expires
// does not count).
func (p *Plugin) responseDirectives(h *fasthttp.ResponseHeader) (directives, bool) {
	for _, name := range p.targeted {
		lines := h.PeekAll(name)
		if len(lines) == 0 {
			continue
		}
		d := newDirectives()
		if d.parseTargeted(lines) {
			return d, true
		}
	}
	return responseDirectives(h), false
}

// stripOwn removes from a response to a client the fields addressed to
// this cache only: the tag header (unless expose_tags) and the targeted
// fields that are not CDN-Cache-Control.
func (p *Plugin) stripOwn(resp *fasthttp.Response) {
	if p.tagHeader != "" && !p.exposeTags {
		resp.Header.Del(p.tagHeader)
	}
	for _, name := range p.ownTargetedNames {
		resp.Header.Del(name)
	}
}

// parseTargeted reads a targeted field, a Structured Fields Dictionary
// (RFC 8941 §3.2) of cache directives, into d. It reports false, leaving
// d unusable, when the field is invalid or empty (RFC 9213 §2.1: then the
// next field, or Cache-Control, decides). Directives whose value has the
// wrong type are ignored (max-age="60"); a boolean directive set to ?0 is
// absent; parameters are ignored. Each line is read as a dictionary of
// its own, which is the same as reading them joined, but for a string
// split between lines (invalid here).
func (d *directives) parseTargeted(lines [][]byte) bool {
	members := 0
	for _, line := range lines {
		v := httpbytes.TrimOWS(line)
		if len(v) == 0 {
			continue
		}
		sp := sfParser{b: v}
		for {
			key, ok := sp.key()
			if !ok {
				return false
			}
			var val sfValue
			if sp.eat('=') {
				if val, ok = sp.member(); !ok {
					return false
				}
			} else {
				val = sfValue{kind: sfBool, n: 1}
			}
			if !sp.params() {
				return false
			}
			d.targeted(key, val)
			members++
			sp.ows()
			if sp.done() {
				break
			}
			if !sp.eat(',') {
				return false
			}
			sp.ows()
			if sp.done() {
				return false // a trailing comma
			}
		}
	}
	return members > 0
}

// targeted applies one dictionary member.
func (d *directives) targeted(key []byte, v sfValue) {
	delta := func(dst *int64) {
		if v.kind == sfInteger && v.n >= 0 {
			*dst = min(v.n, 1<<31) * int64(time.Second)
		}
	}
	flag := func(dst *bool) {
		// A string (no-cache="Set-Cookie") counts as the unqualified
		// directive, as in Cache-Control; ?0 is the directive's absence.
		if v.kind != sfBool || v.n == 1 {
			*dst = true
		}
	}
	switch string(key) {
	case "max-age":
		delta(&d.maxAge)
	case "s-maxage":
		delta(&d.sMaxAge)
	case "stale-while-revalidate":
		delta(&d.swr)
	case "stale-if-error":
		delta(&d.sie)
	case "no-store":
		flag(&d.noStore)
	case "no-cache":
		flag(&d.noCache)
	case "private":
		flag(&d.private)
	case "public":
		flag(&d.public)
	case "must-revalidate":
		flag(&d.mustRevalidate)
	case "proxy-revalidate":
		flag(&d.proxyRevalidate)
	}
}

// The kinds of Structured Fields values the directives care about.
const (
	sfOther = iota
	sfInteger
	sfBool
)

type sfValue struct {
	kind int
	n    int64
}

// sfParser reads Structured Fields (RFC 8941 §4.2) without allocating.
type sfParser struct {
	b []byte
	i int
}

func (p *sfParser) done() bool { return p.i == len(p.b) }

func (p *sfParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *sfParser) eat(c byte) bool {
	if p.peek() == c && !p.done() {
		p.i++
		return true
	}
	return false
}

func (p *sfParser) ows() {
	for !p.done() && (p.b[p.i] == ' ' || p.b[p.i] == '\t') {
		p.i++
	}
}

func (p *sfParser) sp() {
	for p.eat(' ') {
	}
}

func isLcalpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool   { return isLcalpha(c) || (c >= 'A' && c <= 'Z') }

// key reads a key: ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
func (p *sfParser) key() ([]byte, bool) {
	start := p.i
	if c := p.peek(); p.done() || !(isLcalpha(c) || c == '*') {
		return nil, false
	}
	p.i++
	for !p.done() {
		c := p.b[p.i]
		if !(isLcalpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*') {
			break
		}
		p.i++
	}
	return p.b[start:p.i], true
}

// member reads a member value: an item or an inner list.
func (p *sfParser) member() (sfValue, bool) {
	if !p.eat('(') {
		return p.bareItem()
	}
	for {
		p.sp()
		if p.eat(')') {
			return sfValue{kind: sfOther}, true
		}
		if _, ok := p.bareItem(); !ok || !p.params() {
			return sfValue{}, false
		}
		if c := p.peek(); c != ' ' && c != ')' {
			return sfValue{}, false
		}
	}
}

// params reads parameters: *( ";" *SP key [ "=" bare-item ] ).
func (p *sfParser) params() bool {
	for p.eat(';') {
		p.sp()
		if _, ok := p.key(); !ok {
			return false
		}
		if p.eat('=') {
			if _, ok := p.bareItem(); !ok {
				return false
			}
		}
	}
	return true
}

// bareItem reads an integer, decimal, string, token, byte sequence or
// boolean.
func (p *sfParser) bareItem() (sfValue, bool) {
	c := p.peek()
	switch {
	case p.done():
		return sfValue{}, false
	case c == '-' || isDigit(c):
		return p.number()
	case c == '"':
		p.i++
		for !p.done() {
			c := p.b[p.i]
			p.i++
			switch {
			case c == '\\':
				if n := p.peek(); p.done() || (n != '"' && n != '\\') {
					return sfValue{}, false
				}
				p.i++
			case c == '"':
				return sfValue{kind: sfOther}, true
			case c < 0x20 || c > 0x7e:
				return sfValue{}, false
			}
		}
		return sfValue{}, false
	case isAlpha(c) || c == '*':
		p.i++
		for !p.done() && (tchar(p.b[p.i]) || p.b[p.i] == ':' || p.b[p.i] == '/') {
			p.i++
		}
		return sfValue{kind: sfOther}, true
	case c == ':':
		p.i++
		for !p.done() && p.b[p.i] != ':' {
			c := p.b[p.i]
			if !(isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '=') {
				return sfValue{}, false
			}
			p.i++
		}
		return sfValue{kind: sfOther}, p.eat(':')
	case c == '?':
		p.i++
		switch {
		case p.eat('0'):
			return sfValue{kind: sfBool, n: 0}, true
		case p.eat('1'):
			return sfValue{kind: sfBool, n: 1}, true
		}
	}
	return sfValue{}, false
}

// number reads an integer (at most 15 digits) or a decimal (at most 12
// digits, a point, 1 to 3 digits).
func (p *sfParser) number() (sfValue, bool) {
	neg := p.eat('-')
	var n int64
	digits := 0
	for !p.done() && isDigit(p.b[p.i]) {
		n = n*10 + int64(p.b[p.i]-'0')
		digits++
		p.i++
		if digits > 15 {
			return sfValue{}, false
		}
	}
	if digits == 0 {
		return sfValue{}, false
	}
	if !p.eat('.') {
		if neg {
			n = -n
		}
		return sfValue{kind: sfInteger, n: n}, true
	}
	if digits > 12 {
		return sfValue{}, false
	}
	frac := 0
	for !p.done() && isDigit(p.b[p.i]) {
		frac++
		p.i++
	}
	return sfValue{kind: sfOther}, frac >= 1 && frac <= 3
}

// tchar reports whether c may appear in a token (RFC 9110 §5.6.2).
func tchar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
