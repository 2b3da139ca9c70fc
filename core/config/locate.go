package config

import (
	"strconv"
	"strings"
	"sync"
)

// lineIndex maps key paths such as "routes[1].plugins[0].config.ttl" to the
// line where they are written, so that problems found after parsing (unknown
// keys, bad values, broken references) can name their line. The TOML parser
// keeps positions to itself, so the index comes from a light scan of the
// source that follows tables, arrays of tables, keys and multi-line values.
//
// The scan is made for the first problem: a file without problems is
// never indexed (an index of a million [[consumers]] holds three paths
// each, some 200 MB). Once the configuration is built, release drops the
// source and the index: problems reported later name no line.
type lineIndex struct {
	mu  sync.Mutex
	src string         // until the index is made, or released
	at  map[string]int // nil until the first lookup
}

func newLineIndex(src string) *lineIndex { return &lineIndex{src: src} }

// release drops the source and the index.
func (li *lineIndex) release() {
	if li == nil {
		return
	}
	li.mu.Lock()
	li.src, li.at = "", nil
	li.mu.Unlock()
}

// line returns the line of path, or of its closest ancestor that is written
// in the file (a key inside an inline table reports the line of the table).
func (li *lineIndex) line(path string) int {
	if li == nil {
		return 0
	}
	li.mu.Lock()
	defer li.mu.Unlock()
	if li.at == nil && li.src != "" {
		li.at = indexLines(li.src)
		li.src = ""
	}
	for path != "" {
		if n, ok := li.at[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// stripBOM reads over a byte order mark (UTF-8, or UTF-16 as some tools
// write it), as the TOML parser does: positions are counted after it.
func stripBOM(src string) string {
	for _, bom := range []string{"\xff\xfe", "\xfe\xff", "\xef\xbb\xbf"} {
		if rest, ok := strings.CutPrefix(src, bom); ok {
			return rest
		}
	}
	return src
}

// mark records that path is written at line, unless an earlier line is known.
func mark(at map[string]int, path string, line int) {
	if _, ok := at[path]; !ok {
		at[path] = line
	}
}

func indexLines(src string) map[string]int {
	src = stripBOM(src)
	at := map[string]int{}
	counts := map[string]int{} // array-of-tables path -> number of elements seen
	table := ""                // resolved path of the current table
	s := scanner{src: src, line: 1}
	for !s.eof() {
		s.skipSpace()
		switch c := s.peek(); {
		case c == '\n':
			s.next()
		case c == '#':
			s.skipComment()
		case c == '[':
			line := s.line
			s.next()
			array := s.peek() == '['
			if array {
				s.next()
			}
			keys := s.keyPath()
			s.skipLine()
			if len(keys) == 0 {
				continue
			}
			base := childPath(resolve(keys[:len(keys)-1], counts), keys[len(keys)-1])
			resolved := base
			if array {
				n := counts[base]
				counts[base] = n + 1
				resolved = indexPath(base, n)
			} else if n := counts[base]; n > 0 {
				resolved = indexPath(base, n-1)
			}
			table = resolved
			mark(at, table, line)
			// The header also defines, when no earlier line did, the array
			// of [[a]] and the parents of [a.b].
			mark(at, base, line)
			for i := 1; i < len(keys); i++ {
				mark(at, childPath(resolve(keys[:i-1], counts), keys[i-1]), line)
				mark(at, resolve(keys[:i], counts), line)
			}
		default:
			line := s.line
			keys := s.keyPath()
			if len(keys) == 0 {
				s.skipLine()
				continue
			}
			s.skipSpace()
			if s.peek() == '=' {
				s.next()
			}
			p := table
			for _, k := range keys {
				p = childPath(p, k)
				mark(at, p, line)
			}
			s.skipValue()
		}
	}
	return at
}

// resolve turns the keys of a table header into a path, adding the index of
// the latest element for every prefix that is an array of tables.
func resolve(keys []string, counts map[string]int) string {
	p := ""
	for _, k := range keys {
		p = childPath(p, k)
		if n, ok := counts[p]; ok && n > 0 {
			p = indexPath(p, n-1)
		}
	}
	return p
}

type scanner struct {
	src  string
	pos  int
	line int
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

func (s *scanner) next() {
	if s.eof() {
		return
	}
	if s.src[s.pos] == '\n' {
		s.line++
	}
	s.pos++
}

func (s *scanner) skipSpace() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t' || s.peek() == '\r') {
		s.pos++
	}
}

func (s *scanner) skipComment() {
	for !s.eof() && s.peek() != '\n' {
		s.pos++
	}
}

func (s *scanner) skipLine() {
	for !s.eof() && s.peek() != '\n' {
		s.pos++
	}
}

// keyPath reads a dotted key such as a."b.c".d and returns its parts.
func (s *scanner) keyPath() []string {
	var keys []string
	for {
		s.skipSpace()
		switch c := s.peek(); {
		case c == '"' || c == '\'':
			keys = append(keys, s.quoted(c))
		case isBareKeyChar(c):
			start := s.pos
			for !s.eof() && isBareKeyChar(s.peek()) {
				s.pos++
			}
			keys = append(keys, s.src[start:s.pos])
		default:
			return keys
		}
		s.skipSpace()
		if s.peek() != '.' {
			return keys
		}
		s.next()
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quoted reads a one-line quoted key and returns it unquoted.
func (s *scanner) quoted(q byte) string {
	s.next()
	start := s.pos
	for !s.eof() && s.peek() != q && s.peek() != '\n' {
		if q == '"' && s.peek() == '\\' {
			s.pos++
		}
		s.pos++
	}
	raw := s.src[start:s.pos]
	s.next()
	if q == '"' {
		if u, err := strconv.Unquote(`"` + raw + `"`); err == nil {
			return u
		}
	}
	return raw
}

// skipValue moves past a value, which may span lines (arrays, inline tables
// and multi-line strings), and the rest of its line.
func (s *scanner) skipValue() {
	depth := 0
	for !s.eof() {
		c := s.peek()
		switch {
		case c == '"' || c == '\'':
			s.skipString(c)
			continue
		case c == '#':
			s.skipComment()
			continue
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == '\n':
			if depth <= 0 {
				s.next()
				return
			}
		}
		s.next()
	}
}

func (s *scanner) skipString(q byte) {
	triple := strings.HasPrefix(s.src[s.pos:], strings.Repeat(string(q), 3))
	if triple {
		s.pos += 3
		for !s.eof() {
			if q == '"' && s.peek() == '\\' {
				s.next()
				s.next()
				continue
			}
			if strings.HasPrefix(s.src[s.pos:], strings.Repeat(string(q), 3)) {
				s.pos += 3
				// A closing run may hold up to two more quotes that belong to the content.
				for i := 0; i < 2 && s.peek() == q; i++ {
					s.pos++
				}
				return
			}
			s.next()
		}
		return
	}
	s.next()
	for !s.eof() && s.peek() != q && s.peek() != '\n' {
		if q == '"' && s.peek() == '\\' {
			s.pos++
		}
		s.pos++
	}
	if s.peek() == q {
		s.next()
	}
}
