package pattern

// CheckEvery is how many steps of matching run between two calls of a
// Budget's Check. A step is a byte compared, an alternative tried or a
// start position tried: a few nanoseconds each, so a check comes every
// few microseconds of matching.
const CheckEvery = 1024

// Budget paces the checks of matching. Compile and Find count their
// steps on it and call Check every CheckEvery steps (and at the first
// step of a new Budget); when Check returns an error, they stop and
// return that error. A Budget carries its count from one call to the
// next, so that many short searches (gsub finding match after match) are
// paced like one long one. A nil Budget, or a nil Check, never stops
// anything. A Budget is not safe for concurrent use.
type Budget struct {
	Check func() error
	left  int
}

// step counts one step of b (nil: none) and returns Check's error when
// it is time to check and Check says stop.
func (b *Budget) step() error {
	if b == nil {
		return nil
	}
	if b.left--; b.left < 0 {
		b.left = CheckEvery
		if b.Check != nil {
			return b.Check()
		}
	}
	return nil
}

// Match is where a pattern matched: the whole match and its captures.
// Find fills it; it holds offsets only, no reference to the subject.
type Match struct {
	// Start and End delimit the whole match: subject[Start:End].
	Start, End int
	n          int
	positions  uint32
	caps       [MaxCaptures][2]int
}

// Captures returns the number of captures of the match.
func (m *Match) Captures() int { return m.n }

// Capture returns capture i (from 0): the captured text is
// subject[start:end]; for a position capture, isPosition is true and
// start == end is the byte offset it captured.
func (m *Match) Capture(i int) (start, end int, isPosition bool) {
	return m.caps[i][0], m.caps[i][1], m.positions&(1<<i) != 0
}

// stop carries an error out of the recursion to Find.
type stop struct{ err error }

// matcher is the state of one Find.
type matcher struct {
	src   string
	items []item
	m     *Match
	check func() error
	left  int
	depth int
}

// Find looks for the first match of p in s that starts at byte offset
// init or after it (only at init when p is anchored) and stores it in m.
// It reports whether it found one. The error is b's Check error, an
// *Error for a back-reference to a capture that is not closed where it
// stands, or "pattern too complex".
func (p *Pattern) Find(s string, init int, b *Budget, m *Match) (found bool, err error) {
	if init < 0 {
		init = 0
	}
	if init > len(s) {
		return false, nil
	}
	mt := matcher{src: s, items: p.items, m: m}
	if b != nil {
		mt.check, mt.left = b.Check, b.left
		defer func() { b.left = mt.left }()
	}
	defer func() {
		if r := recover(); r != nil {
			st, ok := r.(stop)
			if !ok {
				panic(r)
			}
			found, err = false, st.err
		}
	}()
	m.n, m.positions = p.captures, p.positions
	// A match that must start with a byte of a set cannot start at a
	// byte outside it: skip those without trying the whole pattern.
	var first *set
	if len(p.items) > 0 && p.items[0].kind == single && (p.items[0].rep == 0 || p.items[0].rep == '+') {
		first = p.items[0].set
	}
	for start := init; start <= len(s); start++ {
		if first != nil && !p.anchored {
			for start < len(s) && !first.has(s[start]) {
				mt.step()
				start++
			}
		}
		mt.step()
		if e := mt.match(start, 0); e >= 0 {
			m.Start, m.End = start, e
			return true, nil
		}
		if p.anchored {
			break
		}
	}
	return false, nil
}

// step counts one step and checks the budget when it is spent.
func (mt *matcher) step() {
	mt.left--
	if mt.left < 0 {
		mt.tick()
	}
}

func (mt *matcher) tick() {
	mt.left = CheckEvery
	if mt.check != nil {
		if err := mt.check(); err != nil {
			panic(stop{err})
		}
	}
}

// try matches items[i:] at s one level deeper, for an alternative that
// may fail and leave others to try.
func (mt *matcher) try(s, i int) int {
	mt.depth++
	if mt.depth > MaxDepth {
		panic(stop{errTooComplex})
	}
	e := mt.match(s, i)
	mt.depth--
	return e
}

// match matches items[i:] at s and returns the end of the match, or -1.
// The last alternative of a choice continues in the loop rather than
// one level deeper, so that nesting grows only with the choices still
// open. Captures are written where they open and close without being
// undone on failure: any path that gets past an item again writes it
// again, and a back-reference only reads captures closed before it.
func (mt *matcher) match(s, i int) int {
	src, items := mt.src, mt.items
	for ; i < len(items); i++ {
		mt.step()
		it := &items[i]
		switch it.kind {
		case single:
			switch it.rep {
			case 0:
				if s < len(src) && it.set.has(src[s]) {
					s++
					continue
				}
				return -1
			case '?':
				if s < len(src) && it.set.has(src[s]) {
					if e := mt.try(s+1, i+1); e >= 0 {
						return e
					}
				}
			case '*', '+':
				n := 0
				for s+n < len(src) && it.set.has(src[s+n]) {
					mt.step()
					n++
				}
				least := 0
				if it.rep == '+' {
					if n == 0 {
						return -1
					}
					least = 1
				}
				for k := n; k > least; k-- {
					mt.step()
					if e := mt.try(s+k, i+1); e >= 0 {
						return e
					}
				}
				s += least
			case '-':
				for s < len(src) && it.set.has(src[s]) {
					mt.step()
					if e := mt.try(s, i+1); e >= 0 {
						return e
					}
					s++
				}
			}
		case capOpen:
			mt.m.caps[it.n][0] = s
		case capClose:
			mt.m.caps[it.n][1] = s
		case capPosition:
			mt.m.caps[it.n] = [2]int{s, s}
		case backRef:
			if !it.ok {
				panic(stop{captureIndexError(it.n)})
			}
			c := mt.m.caps[it.n]
			n := c[1] - c[0]
			mt.left -= n / 64
			mt.step()
			if len(src)-s < n || src[s:s+n] != src[c[0]:c[1]] {
				return -1
			}
			s += n
		case balanced:
			if s >= len(src) || src[s] != it.a {
				return -1
			}
			open, j := 1, s+1
			for ; j < len(src); j++ {
				mt.step()
				if c := src[j]; c == it.b {
					if open--; open == 0 {
						break
					}
				} else if c == it.a {
					open++
				}
			}
			if j == len(src) {
				return -1
			}
			s = j + 1
		case frontier:
			var prev, cur byte
			if s > 0 {
				prev = src[s-1]
			}
			if s < len(src) {
				cur = src[s]
			}
			if it.set.has(prev) || !it.set.has(cur) {
				return -1
			}
		case atEnd:
			if s != len(src) {
				return -1
			}
		}
	}
	return s
}
