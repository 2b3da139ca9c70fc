package compress

import "strconv"

// Encoding is a content coding the gateway can produce.
type Encoding uint8

// The content codings. Identity means "no coding".
const (
	Identity Encoding = iota
	Gzip
	Brotli
	Zstd
	numEncodings
)

var encodingNames = [numEncodings]string{Identity: "identity", Gzip: "gzip", Brotli: "br", Zstd: "zstd"}

// String returns the coding's token as written in Content-Encoding and
// Accept-Encoding: "identity", "gzip", "br" or "zstd".
func (e Encoding) String() string {
	if e < numEncodings {
		return encodingNames[e]
	}
	return "encoding(" + strconv.Itoa(int(e)) + ")"
}

// ParseEncoding returns the coding named s ("gzip", "br", "zstd"; case
// does not matter), for configuration. "identity" and unknown names are
// errors: they name nothing to compress with.
func ParseEncoding(s string) (Encoding, error) {
	for e := Gzip; e < numEncodings; e++ {
		if equalFold(s, encodingNames[e]) {
			return e, nil
		}
	}
	return Identity, &unknownEncodingError{s}
}

type unknownEncodingError struct{ name string }

func (e *unknownEncodingError) Error() string {
	return "unknown encoding " + strconv.Quote(e.name) + " (one of gzip, br, zstd)"
}

// DefaultPreference is the server's order of preference between codings a
// client accepts with equal weight (Traefik's default order too): zstd
// costs about what gzip does for about its ratio, brotli gives the
// smallest bodies at its higher levels, gzip is what every client
// understands. docs/plugins-transform.md has the measurements.
var DefaultPreference = []Encoding{Zstd, Brotli, Gzip}

// q-values are kept in thousandths: 0..1000. notListed marks a coding the
// header does not mention.
const notListed = -1

// Negotiate picks the coding to answer with, from the request's
// Accept-Encoding value (nil or empty when the header is absent) and the
// codings the server offers, in its order of preference.
//
// It follows RFC 9110 §12.5.3: names are case-insensitive, "x-gzip" is
// gzip, a coding's weight is its q parameter (default 1, q=0 means "not
// acceptable"), "*" gives its weight to every coding the header does not
// name. The offered coding of highest weight wins; on equal weights the
// server's order decides. Identity is the answer when the header is absent
// or empty, when no offered coding is acceptable, and when the header
// weighs "identity" explicitly above the best offered coding. An element
// with a malformed q-value is ignored. Negotiate does not allocate.
func Negotiate(acceptEncoding []byte, offered []Encoding) Encoding {
	var q [numEncodings]int
	for i := range q {
		q[i] = notListed
	}
	star := notListed
	h := acceptEncoding
	for len(h) > 0 {
		// One element: up to the next comma.
		end := 0
		for end < len(h) && h[end] != ',' {
			end++
		}
		elem := h[:end]
		if end < len(h) {
			h = h[end+1:]
		} else {
			h = nil
		}
		name, weight, ok := parseElement(elem)
		if !ok {
			continue
		}
		switch {
		case len(name) == 1 && name[0] == '*':
			if star == notListed {
				star = weight
			}
		default:
			if e, ok := codingOf(name); ok && q[e] == notListed {
				q[e] = weight
			}
		}
	}
	best, bestQ := Identity, 0
	for _, e := range offered {
		if e == Identity || e >= numEncodings {
			continue
		}
		w := q[e]
		if w == notListed {
			w = star
		}
		if w > bestQ {
			best, bestQ = e, w
		}
	}
	if best != Identity && q[Identity] > bestQ {
		return Identity
	}
	return best
}

// parseElement splits `token *( OWS ";" OWS param )` into the token and
// its weight in thousandths.
func parseElement(elem []byte) (name []byte, weight int, ok bool) {
	elem = trimOWS(elem)
	i := 0
	for i < len(elem) && elem[i] != ';' && elem[i] != ' ' && elem[i] != '\t' {
		i++
	}
	name, rest := elem[:i], elem[i:]
	if len(name) == 0 {
		return nil, 0, false
	}
	weight = 1000
	for len(rest) > 0 {
		rest = trimOWS(rest)
		if len(rest) == 0 || rest[0] != ';' {
			return nil, 0, false
		}
		rest = trimOWS(rest[1:])
		j := 0
		for j < len(rest) && rest[j] != ';' {
			j++
		}
		param := trimOWS(rest[:j])
		rest = rest[j:]
		if len(param) >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=' {
			w, ok := parseQ(param[2:])
			if !ok {
				return nil, 0, false
			}
			weight = w
		}
	}
	return name, weight, true
}

// parseQ parses an RFC 9110 qvalue: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ].
func parseQ(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 5 || (b[0] != '0' && b[0] != '1') {
		return 0, false
	}
	w := int(b[0]-'0') * 1000
	if len(b) == 1 {
		return w, true
	}
	if b[1] != '.' {
		return 0, false
	}
	scale := 100
	for _, c := range b[2:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		w += int(c-'0') * scale
		scale /= 10
	}
	if w > 1000 {
		return 0, false
	}
	return w, true
}

func codingOf(name []byte) (Encoding, bool) {
	switch len(name) {
	case 2:
		if equalFoldBytes(name, "br") {
			return Brotli, true
		}
	case 4:
		if equalFoldBytes(name, "gzip") {
			return Gzip, true
		}
		if equalFoldBytes(name, "zstd") {
			return Zstd, true
		}
	case 6:
		if equalFoldBytes(name, "x-gzip") {
			return Gzip, true
		}
	case 8:
		if equalFoldBytes(name, "identity") {
			return Identity, true
		}
	}
	return Identity, false
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFoldBytes compares b with the lowercase ASCII string s, ignoring
// the case of b.
func equalFoldBytes(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func equalFold(a, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != s[i] {
			return false
		}
	}
	return true
}
