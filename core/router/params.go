package router

// MaxParams is the most path parameters one route path may have.
const MaxParams = 16

// Params holds the named path parameters of a match. The values are slices
// of the request path: they are valid only while the request is served and
// must be copied to be kept. The zero value is empty and ready to use.
type Params struct {
	n      int
	names  [MaxParams]string
	values [MaxParams][]byte
}

// Reset empties ps.
func (ps *Params) Reset() {
	for i := 0; i < ps.n; i++ {
		ps.values[i] = nil
	}
	ps.n = 0
}

// Get returns the value of parameter name, or nil.
func (ps *Params) Get(name string) []byte {
	v, _ := ps.Lookup(name)
	return v
}

// Lookup returns the value of parameter name and whether the route's
// pattern has it (a value may be empty only if built by hand).
func (ps *Params) Lookup(name string) ([]byte, bool) {
	for i := 0; i < ps.n; i++ {
		if ps.names[i] == name {
			return ps.values[i], true
		}
	}
	return nil, false
}

// Len returns the number of parameters.
func (ps *Params) Len() int { return ps.n }

// At returns the i-th parameter's name and value, in path order.
func (ps *Params) At(i int) (name string, value []byte) { return ps.names[i], ps.values[i] }

func (ps *Params) add(name string, value []byte) {
	if ps.n < MaxParams {
		ps.names[ps.n], ps.values[ps.n] = name, value
		ps.n++
	}
}

// Set adds parameter name with value, for code that builds Params by hand
// (tests, copies). Values past MaxParams are dropped.
func (ps *Params) Set(name string, value []byte) { ps.add(name, value) }
