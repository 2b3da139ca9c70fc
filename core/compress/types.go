package compress

import (
	"strconv"
	"strings"
)

// DefaultTypes are the content types worth compressing when the
// configuration names none: text, and the structured formats APIs send.
// Images, video, archives and fonts in WOFF2 are already compressed.
var DefaultTypes = []string{
	"text/*",
	"application/json", "application/*+json",
	"application/xml", "application/*+xml",
	"application/javascript", "application/x-javascript", "application/ecmascript",
	"application/x-ndjson", "application/graphql-response+json",
	"application/wasm", "image/svg+xml", "image/x-icon", "font/ttf", "font/otf",
}

type pattern struct {
	typ, sub string // "" in sub: any subtype
	suffix   string // "+json" for application/*+json, "" otherwise
}

// TypeMatcher tells whether a Content-Type is in a configured list. It is
// immutable and safe for concurrent use.
type TypeMatcher struct {
	patterns []pattern
}

// NewTypeMatcher compiles a list of media type patterns:
//
//	application/json      that type exactly
//	text/*                any subtype of text
//	application/*+json    any subtype of application ending in "+json"
//	*/*+json              any type whose subtype ends in "+json"
//	*/*                   everything
//
// Names are case-insensitive; parameters (";charset=...") are not part of
// a pattern and are ignored when matching.
func NewTypeMatcher(patterns []string) (*TypeMatcher, error) {
	m := &TypeMatcher{}
	for _, p := range patterns {
		orig := p
		p = strings.ToLower(strings.TrimSpace(p))
		typ, sub, ok := strings.Cut(p, "/")
		if !ok || typ == "" || sub == "" || strings.ContainsAny(p, " ;,") || strings.Contains(sub, "/") {
			return nil, &patternError{orig, "want type/subtype, type/*, type/*+suffix or */*"}
		}
		pt := pattern{typ: typ, sub: sub}
		if typ == "*" {
			pt.typ = ""
		}
		switch {
		case sub == "*":
			pt.sub = ""
		case strings.HasPrefix(sub, "*+") && len(sub) > 2:
			pt.sub, pt.suffix = "", sub[1:]
		case strings.Contains(sub, "*"):
			return nil, &patternError{orig, `"*" stands for a whole subtype or before a "+suffix"`}
		case pt.typ == "":
			return nil, &patternError{orig, `"*/" goes with "*" or "*+suffix"`}
		}
		m.patterns = append(m.patterns, pt)
	}
	return m, nil
}

type patternError struct{ pattern, reason string }

func (e *patternError) Error() string {
	return "content type pattern " + strconv.Quote(e.pattern) + ": " + e.reason
}

// Match reports whether contentType (a Content-Type value, parameters
// allowed) matches one of the patterns. It does not allocate.
func (m *TypeMatcher) Match(contentType []byte) bool {
	ct := contentType
	for i, c := range ct {
		if c == ';' {
			ct = ct[:i]
			break
		}
	}
	ct = trimOWS(ct)
	slash := -1
	for i, c := range ct {
		if c == '/' {
			slash = i
			break
		}
	}
	if slash <= 0 || slash == len(ct)-1 {
		return false
	}
	typ, sub := ct[:slash], ct[slash+1:]
	for i := range m.patterns {
		p := &m.patterns[i]
		if p.typ != "" && !equalFoldBytes(typ, p.typ) {
			continue
		}
		switch {
		case p.suffix != "":
			if len(sub) > len(p.suffix) && equalFoldBytes(sub[len(sub)-len(p.suffix):], p.suffix) {
				return true
			}
		case p.sub == "" || equalFoldBytes(sub, p.sub):
			return true
		}
	}
	return false
}
