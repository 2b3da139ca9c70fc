package pattern

import "strconv"

// MaxCaptures is the most captures (position captures included) a
// pattern may have, as in Lua 5.1.
const MaxCaptures = 32

// MaxDepth is how deeply backtracking may nest: one level per quantified
// item whose other alternatives are still to be tried.
const MaxDepth = 1000

// Error is a malformed pattern, or a pattern too complex to match.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(msg string) error { return &Error{Msg: msg} }

var errTooComplex = &Error{Msg: "pattern too complex"}

// set is a set of bytes, one bit per byte value.
type set [4]uint64

func (s *set) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

func (s *set) add(c byte) { s[c>>6] |= 1 << (c & 63) }

func (s *set) addRange(lo, hi byte) {
	for c := int(lo); c <= int(hi); c++ {
		s.add(byte(c))
	}
}

func (s *set) union(o *set) {
	for i := range s {
		s[i] |= o[i]
	}
}

func (s *set) invert() {
	for i := range s {
		s[i] = ^s[i]
	}
}

// The sets patterns share, so that an item is a pointer and a pattern
// does not cost many times its length: literals[c] is c alone; escapes[c]
// is what %c stands for, a class for the class letters (the upper-case
// letter for the complement) and c alone for anything else.
var (
	literals [256]set
	escapes  [256]set
	anyByte  = set{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
)

func init() {
	in := func(c int, lo, hi byte) bool { return c >= int(lo) && c <= int(hi) }
	for c := 0; c < 256; c++ {
		literals[c].add(byte(c))
		escapes[c].add(byte(c))
	}
	classes := map[byte]func(int) bool{
		'a': func(c int) bool { return in(c, 'a', 'z') || in(c, 'A', 'Z') },
		'c': func(c int) bool { return c < 0x20 || c == 0x7f },
		'd': func(c int) bool { return in(c, '0', '9') },
		'l': func(c int) bool { return in(c, 'a', 'z') },
		'p': func(c int) bool {
			return in(c, 0x21, 0x2f) || in(c, 0x3a, 0x40) || in(c, 0x5b, 0x60) || in(c, 0x7b, 0x7e)
		},
		's': func(c int) bool { return c == ' ' || in(c, '\t', '\r') },
		'u': func(c int) bool { return in(c, 'A', 'Z') },
		'w': func(c int) bool { return in(c, 'a', 'z') || in(c, 'A', 'Z') || in(c, '0', '9') },
		'x': func(c int) bool { return in(c, 'a', 'f') || in(c, 'A', 'F') || in(c, '0', '9') },
		'z': func(c int) bool { return c == 0 },
	}
	for letter, f := range classes {
		var s set
		for c := 0; c < 256; c++ {
			if f(c) {
				s.add(byte(c))
			}
		}
		escapes[letter] = s
		s.invert()
		escapes[letter-'a'+'A'] = s
	}
}

type kind uint8

const (
	single      kind = iota // one byte of set, quantified by rep
	capOpen                 // '(': a capture starts
	capClose                // ')': a capture ends
	capPosition             // '()': a position capture
	backRef                 // %1 to %9
	balanced                // %bxy
	frontier                // %f[set]
	atEnd                   // '$' at the end of the pattern
)

// item is one element of a compiled pattern.
type item struct {
	set  *set // single, frontier
	kind kind
	rep  byte  // single: 0 (exactly one), '*', '+', '-' or '?'
	n    uint8 // capOpen, capClose, capPosition, backRef: the capture's index
	ok   bool  // backRef: the capture is closed where the item stands
	a, b byte  // balanced: the opening and closing bytes
}

// Pattern is a compiled pattern. It is immutable and safe for concurrent
// use.
type Pattern struct {
	items     []item
	anchored  bool
	captures  int
	positions uint32 // bit i: capture i is a position capture
}

// Anchored reports whether the pattern starts with '^': it matches only
// where the search starts.
func (p *Pattern) Anchored() bool { return p.anchored }

// Captures returns the number of captures of the pattern.
func (p *Pattern) Captures() int { return p.captures }

// Compile parses a Lua pattern. Its errors are *Error values with Lua's
// messages, such as "malformed pattern (ends with '%')", or b's Check
// error: a pattern can be as long as any string, so parsing it spends
// the budget too (b may be nil).
func Compile(pat string, b *Budget) (*Pattern, error) {
	// Every item takes a byte of pattern or more: one allocation, and no
	// garbage of a growing slice.
	p := &Pattern{items: make([]item, 0, len(pat))}
	i := 0
	if len(pat) > 0 && pat[0] == '^' {
		p.anchored = true
		i = 1
	}
	var opened [MaxCaptures]uint8 // captures open at i, innermost last
	nopen := 0
	var closed uint32
	for i < len(pat) {
		if err := b.step(); err != nil {
			return nil, err
		}
		switch c := pat[i]; c {
		case '(':
			if p.captures == MaxCaptures {
				return nil, errorf("too many captures")
			}
			n := uint8(p.captures)
			p.captures++
			if i+1 < len(pat) && pat[i+1] == ')' {
				p.items = append(p.items, item{kind: capPosition, n: n})
				p.positions |= 1 << n
				closed |= 1 << n
				i += 2
				continue
			}
			p.items = append(p.items, item{kind: capOpen, n: n})
			opened[nopen] = n
			nopen++
			i++
			continue
		case ')':
			if nopen == 0 {
				return nil, errorf("invalid pattern capture")
			}
			nopen--
			n := opened[nopen]
			closed |= 1 << n
			p.items = append(p.items, item{kind: capClose, n: n})
			i++
			continue
		case '$':
			if i == len(pat)-1 {
				p.items = append(p.items, item{kind: atEnd})
				i++
				continue
			}
		case '%':
			if i+1 == len(pat) {
				return nil, errorf("malformed pattern (ends with '%')")
			}
			switch d := pat[i+1]; {
			case d == '0':
				return nil, errorf("invalid capture index %0 in pattern")
			case d >= '1' && d <= '9':
				n := d - '1'
				p.items = append(p.items, item{kind: backRef, n: n, ok: closed&(1<<n) != 0})
				i += 2
				continue
			case d == 'b':
				if i+3 >= len(pat) {
					return nil, errorf("malformed pattern (missing arguments to '%b')")
				}
				p.items = append(p.items, item{kind: balanced, a: pat[i+2], b: pat[i+3]})
				i += 4
				continue
			case d == 'f':
				i += 2
				if i == len(pat) || pat[i] != '[' {
					return nil, errorf("missing '[' after '%f' in pattern")
				}
				it := item{kind: frontier}
				var err error
				if it.set, i, err = parseSet(pat, i+1, b); err != nil {
					return nil, err
				}
				p.items = append(p.items, it)
				continue
			}
		}
		it := item{kind: single}
		var err error
		if it.set, i, err = parseSingle(pat, i, b); err != nil {
			return nil, err
		}
		if i < len(pat) {
			switch q := pat[i]; q {
			case '*', '+', '-', '?':
				it.rep = q
				i++
			}
		}
		p.items = append(p.items, it)
	}
	if nopen > 0 {
		return nil, errorf("unfinished capture")
	}
	return p, nil
}

// parseSingle reads the single character class at pat[i] ('.', a set,
// an escape or a plain byte) and returns it and the index after it.
func parseSingle(pat string, i int, b *Budget) (*set, int, error) {
	switch c := pat[i]; c {
	case '.':
		return &anyByte, i + 1, nil
	case '[':
		return parseSet(pat, i+1, b)
	case '%':
		// Compile has checked that something follows.
		return &escapes[pat[i+1]], i + 2, nil
	default:
		return &literals[c], i + 1, nil
	}
}

// parseSet reads a set whose '[' is just before pat[i] and returns it
// and the index after its ']'. A ']' or '-' right after "[" or "[^" is a
// plain byte.
func parseSet(pat string, i int, b *Budget) (*set, int, error) {
	s := new(set)
	negate := false
	if i < len(pat) && pat[i] == '^' {
		negate = true
		i++
	}
	// The last element read is kept apart until it is known whether a
	// range starts with it.
	var last set
	lastPlain := false // last is one plain byte, lastByte
	var lastByte byte
	some, ranging := false, false
	for {
		if i == len(pat) {
			return nil, 0, errorf("malformed pattern (missing ']')")
		}
		if err := b.step(); err != nil {
			return nil, 0, err
		}
		c := pat[i]
		if some && c == ']' {
			i++
			break
		}
		if some && c == '-' {
			ranging = true
			i++
			continue
		}
		var e set
		plain := false
		if c == '%' {
			if i+1 == len(pat) {
				return nil, 0, errorf("malformed pattern (missing ']')")
			}
			e = escapes[pat[i+1]]
			i += 2
		} else {
			e.add(c)
			plain = true
			i++
		}
		switch {
		case ranging:
			var r set
			if lastPlain && plain {
				r.addRange(lastByte, c)
			}
			last, lastPlain, ranging = r, false, false
		default:
			s.union(&last)
			last, lastPlain, lastByte = e, plain, c
		}
		some = true
	}
	s.union(&last)
	if ranging {
		s.add('-')
	}
	if negate {
		s.invert()
	}
	return s, i, nil
}

func captureIndexError(n uint8) error {
	return errorf("invalid capture index %" + strconv.Itoa(int(n)+1) + " in pattern")
}
