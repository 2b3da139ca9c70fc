package transformstep

import (
	"bytes"
	"strings"

	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// RouteParams returns the path parameters of the step's route ("id" for
// paths = ["/users/{id}"]), so that templates naming another one are
// refused at load time; nil (any name) for a global step, which serves
// every route.
func RouteParams(spec plugin.Spec) []string {
	cfg := spec.Settings()
	if cfg == nil || spec.Route == "" {
		return nil
	}
	for _, r := range cfg.Routes {
		if r.Name != spec.Route {
			continue
		}
		names := []string{}
		for _, p := range r.Paths {
			for {
				i := strings.IndexByte(p, '{')
				if i < 0 {
					break
				}
				j := strings.IndexByte(p[i:], '}')
				if j < 0 {
					break
				}
				if n := p[i+1 : i+j]; n != "" && n != "*" {
					names = append(names, n)
				}
				p = p[i+j+1:]
			}
		}
		return names
	}
	return nil
}

// StrictPaths reports whether the configuration refuses ';' and '\' in
// paths ([server] strict_paths, true by default).
func StrictPaths(spec plugin.Spec) bool {
	if cfg := spec.Settings(); cfg != nil {
		return cfg.Server.StrictPaths
	}
	return true
}

// IsJSON reports whether a Content-Type is JSON: application/json, or any
// type with the +json suffix (application/problem+json), parameters
// ignored, in any case.
func IsJSON(contentType []byte) bool {
	mt := contentType
	if i := bytes.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = bytes.TrimSpace(mt)
	const aj, sfx = "application/json", "+json"
	if len(mt) == len(aj) && asciiEqualFold(mt, aj) {
		return true
	}
	return len(mt) > len(sfx) && bytes.IndexByte(mt, '/') > 0 && asciiEqualFold(mt[len(mt)-len(sfx):], sfx)
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// WeakETag turns a strong ETag into a weak one, for a step that changes
// the body (edits it, compresses it): a strong validator promises the same
// bytes (RFC 9110 §8.8.1), which the client no longer gets; a weak one
// still lets it revalidate. nginx's gzip and sub_filter do the same.
func WeakETag(h *fasthttp.ResponseHeader) {
	et := h.Peek("ETag")
	if len(et) == 0 || bytes.HasPrefix(et, []byte("W/")) {
		return
	}
	var buf [128]byte
	if len(et)+2 > len(buf) {
		h.Set("ETag", "W/"+string(et))
		return
	}
	b := append(append(buf[:0], "W/"...), et...)
	h.SetBytesV("ETag", b)
}
