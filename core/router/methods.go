package router

// methods is a route's set of allowed methods: a bit per common method and
// a list for the others. The zero value allows every method.
type methods struct {
	bits  uint16
	other []string
	all   bool
}

var methodNames = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}

func newMethods(names []string) methods {
	if len(names) == 0 {
		return methods{all: true}
	}
	var m methods
	for _, n := range names {
		if b := methodBit([]byte(n)); b != 0 {
			m.bits |= b
		} else {
			m.other = append(m.other, n)
		}
	}
	return m
}

// methodBit returns the bit of a common method, 0 for others.
func methodBit(m []byte) uint16 {
	for i, n := range methodNames {
		if string(m) == n {
			return 1 << i
		}
	}
	return 0
}

func (m methods) has(bit uint16, method []byte) bool {
	if m.all || bit&m.bits != 0 {
		return true
	}
	if bit == 0 {
		for _, o := range m.other {
			if string(method) == o {
				return true
			}
		}
	}
	return false
}

func (m methods) names() []string {
	if m.all {
		return append([]string(nil), methodNames[:]...)
	}
	var out []string
	for i, n := range methodNames {
		if m.bits&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return append(out, m.other...)
}
