package jsonedit

import (
	"errors"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Kind is what an operation does.
type Kind uint8

// The operations. In every one, a path that meets a value of the wrong
// shape (a key below a string, an index past the end of an array) makes
// the operation do nothing.
const (
	// Add sets the value only where the path is absent, creating missing
	// intermediate objects.
	Add Kind = iota + 1
	// Set sets the value, replacing what is there and creating missing
	// intermediate objects.
	Set
	// Replace sets the value only where the path is present.
	Replace
	// Append adds the value to the array at the path; a value that is not
	// an array becomes the array [old, value]; an absent (or null) one
	// becomes [value]. Missing intermediate objects are created.
	Append
	// Remove deletes the key (every occurrence of it) or array element.
	Remove
	// Rename gives the key at the path the name To, in the same object,
	// where it stands; any other key already named To is removed.
	Rename
)

var kindNames = []string{Add: "add", Set: "set", Replace: "replace", Append: "append", Remove: "remove", Rename: "rename"}

// String returns the operation's name: "add", "set", ...
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is the value an operation writes: a JSON literal or a string fixed
// at load time, or a string supplied per request (an expanded template).
type Value struct {
	raw []byte // JSON text; nil for an argument
	arg int    // argument index, when raw is nil
	set bool
}

// JSON returns the value whose JSON text is raw (an object, array,
// number, string, true, false or null); Compile checks it.
func JSON(raw string) Value { return Value{raw: []byte(raw), set: true} }

// String returns the JSON string holding s, escaped as needed.
func String(s string) Value { return Value{raw: AppendString(nil, []byte(s)), set: true} }

// Arg returns the value that Apply takes from args[i] per request, as a
// JSON string (escaped as needed).
func Arg(i int) Value { return Value{arg: i, set: true} }

// Op is one edit: what, where and with which value.
type Op struct {
	Kind  Kind
	Path  string // dotted path; see ParsePath
	Value Value  // for Add, Set, Replace, Append
	To    string // for Rename: the new key name (a name, not a path)
}

type compiledOp struct {
	kind   Kind
	segs   []string
	bsegs  [][]byte // segs as bytes, to name new keys without converting
	val    Value
	to     []byte
	toJSON []byte // `"to"`
}

// Program is a compiled list of operations. It is immutable and safe for
// concurrent use.
type Program struct {
	ops     []compiledOp
	numArgs int
	pool    sync.Pool // of *state
}

// Compile checks and compiles ops, which Apply performs in the given
// order, each on the result of the ones before. Errors name the
// operation by its position and path.
func Compile(ops []Op) (*Program, error) {
	p := &Program{}
	var errs []error
	for i, op := range ops {
		fail := func(msg string) {
			errs = append(errs, errors.New("operation "+strconv.Itoa(i)+" ("+op.Kind.String()+" "+strconv.Quote(op.Path)+"): "+msg))
		}
		segs, err := ParsePath(op.Path)
		if err != nil {
			fail(err.Error())
			continue
		}
		if !utf8.ValidString(op.Path) || !utf8.ValidString(op.To) {
			fail("not valid UTF-8")
			continue
		}
		c := compiledOp{kind: op.Kind, segs: segs, val: op.Value}
		for _, s := range segs {
			c.bsegs = append(c.bsegs, []byte(s))
		}
		switch op.Kind {
		case Add, Set, Replace, Append:
			switch {
			case !op.Value.set:
				fail("needs a value")
				continue
			case op.Value.raw == nil && op.Value.arg < 0:
				fail("negative argument index")
				continue
			case op.Value.raw == nil:
				p.numArgs = max(p.numArgs, op.Value.arg+1)
			default:
				i := skipSpace(op.Value.raw, 0)
				end, err := skipValue(op.Value.raw, i, 0, 0)
				if err == nil && skipSpace(op.Value.raw, end) != len(op.Value.raw) {
					err = syntaxErr(end, "text after the value")
				}
				if err != nil {
					fail("value " + strconv.Quote(string(op.Value.raw)) + " is not JSON: " + err.(*SyntaxError).Msg + " at offset " + strconv.Itoa(err.(*SyntaxError).Offset))
					continue
				}
				c.val.raw = op.Value.raw[i:end]
			}
		case Remove:
		case Rename:
			if op.To == "" {
				fail("needs the new name (to)")
				continue
			}
			c.to = []byte(op.To)
			c.toJSON = AppendString(nil, c.to)
		default:
			fail("unknown operation")
			continue
		}
		p.ops = append(p.ops, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// NumArgs returns how many per-request values Apply needs: one more than
// the largest Arg index used.
func (p *Program) NumArgs() int { return p.numArgs }

// ErrNotContainer is returned by Apply when the document is a string,
// number, boolean or null: there are no keys to edit.
var ErrNotContainer = errors.New("jsonedit: the document is not an object or an array")

// ErrArgs is returned by Apply when args is shorter than NumArgs.
var ErrArgs = errors.New("jsonedit: fewer arguments than the program uses")

// entry is a member of an object (name set) or an element of an array
// being edited.
type entry struct {
	name    []byte // decoded key; nil for array elements
	keyRaw  []byte // original: the key literal and what follows up to the value (`"a" : `)
	sepRaw  []byte // original: what follows the key literal up to the value
	lead    []byte // original: white space before the key or element
	trail   []byte // original: white space after the value, before ","
	val     []byte // the value's JSON text (input or arena)
	head    int32  // first pending operation for the value's inside, -1 if none
	tail    int32
	orig    bool
	renamed bool
	deleted bool
}

type pending struct {
	op   int32
	next int32
}

// state is the scratch space of one Apply, pooled.
type state struct {
	entries []entry
	pend    []pending
	ops     []int32
	arena   []byte // values built during the apply; append-only within one
	keys    []byte // decoded keys with escapes; append-only within one
	tmp     [MaxPathSegments + 1][]byte
	args    [][]byte
}

// Apply appends to dst the document src with p's operations performed,
// and returns the extended slice. Bytes outside the edited objects and
// arrays are copied as they are (key order, number formatting, white
// space); inside an edited object or array, untouched members keep their
// bytes and only the edited values are written anew. args supplies the
// Arg values.
//
// Apply reads src once, checking that it is well-formed JSON; malformed
// input gives a *SyntaxError, a document that is not an object or an
// array gives ErrNotContainer, and dst is then returned unextended. In
// steady state Apply allocates nothing beyond growing dst.
func (p *Program) Apply(dst, src []byte, args [][]byte) ([]byte, error) {
	if len(args) < p.numArgs {
		return dst, ErrArgs
	}
	start := skipSpace(src, 0)
	if start >= len(src) {
		return dst, syntaxErr(start, "empty document")
	}
	if src[start] != '{' && src[start] != '[' {
		end, err := skipValue(src, start, 0, 0)
		if err != nil {
			return dst, err
		}
		if skipSpace(src, end) != len(src) {
			return dst, syntaxErr(end, "text after the document")
		}
		return dst, ErrNotContainer
	}
	st, _ := p.pool.Get().(*state)
	if st == nil {
		st = &state{}
	}
	st.args = args
	st.ops = st.ops[:0]
	for i := range p.ops {
		st.ops = append(st.ops, int32(i))
	}
	n := len(dst)
	dst = append(dst, src[:start]...)
	out, end, err := p.edit(st, dst, src, start, 0, len(st.ops), 0)
	if err == nil && skipSpace(src, end) != len(src) {
		err = syntaxErr(end, "text after the document")
	}
	st.reset()
	p.pool.Put(st)
	if err != nil {
		return dst[:n], err
	}
	return append(out, src[end:]...), nil
}

func (st *state) reset() {
	st.entries = st.entries[:0]
	st.pend = st.pend[:0]
	st.ops = st.ops[:0]
	st.arena = st.arena[:0]
	st.keys = st.keys[:0]
	st.args = nil
}

// edit writes the value that starts at b[i] to out with the operations
// st.ops[opLo:opHi] performed on it (their paths read from segment depth
// on), and returns the offset past the value in b. b is the input or a
// value built in the arena; offsets in errors are only meaningful for the
// input, which is the only place malformed text can come from.
func (p *Program) edit(st *state, out, b []byte, i, opLo, opHi, depth int) ([]byte, int, error) {
	if opLo == opHi || (b[i] != '{' && b[i] != '[') {
		end, err := skipValue(b, i, depth, 0)
		if err != nil {
			return out, end, err
		}
		return append(out, b[i:end]...), end, nil
	}
	isObject := b[i] == '{'
	eLo := len(st.entries)
	defer func() { st.entries = st.entries[:eLo] }()

	// Read the members (or elements), checking the text.
	j := skipSpace(b, i+1)
	var closing []byte
	closeCh := byte('}')
	if !isObject {
		closeCh = ']'
	}
	if j < len(b) && b[j] == closeCh {
		closing = b[i+1 : j]
		j++
	} else {
		leadStart := i + 1
		for {
			e := entry{orig: true, head: -1, tail: -1, lead: b[leadStart:j]}
			if isObject {
				if j >= len(b) || b[j] != '"' {
					return out, j, syntaxErr(j, "expected a string key")
				}
				keyEnd, escaped, err := skipString(b, j, 0)
				if err != nil {
					return out, keyEnd, err
				}
				if escaped || !utf8.Valid(b[j+1:keyEnd-1]) {
					k0 := len(st.keys)
					st.keys = appendUnquoted(st.keys, b[j+1:keyEnd-1])
					e.name = st.keys[k0:len(st.keys):len(st.keys)]
				} else {
					e.name = b[j+1 : keyEnd-1]
				}
				k := skipSpace(b, keyEnd)
				if k >= len(b) || b[k] != ':' {
					return out, k, syntaxErr(k, `expected ":" after a key`)
				}
				k = skipSpace(b, k+1)
				e.keyRaw, e.sepRaw = b[j:keyEnd], b[keyEnd:k]
				j = k
			}
			end, err := skipValue(b, j, depth+1, 0)
			if err != nil {
				return out, end, err
			}
			e.val = b[j:end]
			k := skipSpace(b, end)
			if k >= len(b) {
				return out, k, syntaxErr(k, "unexpected end of input")
			}
			if b[k] == closeCh {
				closing = b[end:k]
				st.entries = append(st.entries, e)
				j = k + 1
				break
			}
			if b[k] != ',' {
				return out, k, syntaxErr(k, `expected "," or "`+string(closeCh)+`"`)
			}
			e.trail = b[end:k]
			st.entries = append(st.entries, e)
			leadStart = k + 1
			j = skipSpace(b, k+1)
		}
	}
	end := j
	var firstLead []byte
	if len(st.entries) > eLo {
		firstLead = st.entries[eLo].lead
	}

	// Perform the operations on the member list, in order.
	for k := opLo; k < opHi; k++ {
		if err := p.perform(st, st.ops[k], eLo, isObject, depth); err != nil {
			return out, end, err
		}
	}

	// Write the result.
	if isObject {
		out = append(out, '{')
	} else {
		out = append(out, '[')
	}
	first := true
	for x := eLo; x < len(st.entries); x++ {
		e := st.entries[x] // a copy: writing a value below may grow st.entries
		if e.deleted {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		switch {
		case !e.orig:
			out = append(out, firstLead...)
			out = AppendString(out, e.name)
			out = append(out, ':')
		case e.renamed:
			out = append(out, e.lead...)
			out = AppendString(out, e.name)
			out = append(out, e.sepRaw...)
		default:
			out = append(out, e.lead...)
			out = append(out, e.keyRaw...)
			out = append(out, e.sepRaw...)
		}
		if e.head < 0 {
			out = append(out, e.val...)
		} else {
			lo := len(st.ops)
			for q := e.head; q >= 0; q = st.pend[q].next {
				st.ops = append(st.ops, st.pend[q].op)
			}
			var err error
			out, _, err = p.edit(st, out, e.val, 0, lo, len(st.ops), depth+1)
			st.ops = st.ops[:lo]
			if err != nil {
				return out, end, err
			}
		}
		out = append(out, e.trail...)
	}
	out = append(out, closing...)
	out = append(out, closeCh)
	return out, end, nil
}

// find returns the index of the last live entry named name (objects) or
// of the n-th live element (arrays), or -1.
func (st *state) find(eLo int, isObject bool, seg string) int {
	if isObject {
		for x := len(st.entries) - 1; x >= eLo; x-- {
			if e := &st.entries[x]; !e.deleted && string(e.name) == seg {
				return x
			}
		}
		return -1
	}
	n, ok := index(seg)
	if !ok {
		return -1
	}
	for x := eLo; x < len(st.entries); x++ {
		if !st.entries[x].deleted {
			if n == 0 {
				return x
			}
			n--
		}
	}
	return -1
}

// deleteOthers removes every live entry named name except keep.
func (st *state) deleteOthers(eLo int, name []byte, keep int) {
	for x := eLo; x < len(st.entries); x++ {
		if e := &st.entries[x]; x != keep && !e.deleted && string(e.name) == string(name) {
			e.deleted = true
		}
	}
}

func (st *state) addPending(x int, op int32) {
	st.pend = append(st.pend, pending{op: op, next: -1})
	q := int32(len(st.pend) - 1)
	e := &st.entries[x]
	if e.head < 0 {
		e.head = q
	} else {
		st.pend[e.tail].next = q
	}
	e.tail = q
}

// value returns the JSON text op writes.
func (p *Program) value(st *state, op *compiledOp) []byte {
	if op.val.raw != nil {
		return op.val.raw
	}
	a0 := len(st.arena)
	st.arena = AppendString(st.arena, st.args[op.val.arg])
	return st.arena[a0:len(st.arena):len(st.arena)]
}

var emptyObject = []byte("{}")

// perform applies operation k to the member list st.entries[eLo:] of the
// object or array at depth.
func (p *Program) perform(st *state, k int32, eLo int, isObject bool, depth int) error {
	op := &p.ops[k]
	seg := op.segs[depth]
	x := st.find(eLo, isObject, seg)
	if depth < len(op.segs)-1 {
		// The operation acts deeper down: queue it on the member.
		creates := op.kind == Add || op.kind == Set || op.kind == Append
		switch {
		case x >= 0:
			if e := &st.entries[x]; creates && e.head < 0 && string(e.val) == "null" {
				e.val = emptyObject
			}
			if isObject {
				st.deleteOthers(eLo, st.entries[x].name, x)
			}
			st.addPending(x, k)
		case creates && isObject:
			st.entries = append(st.entries, entry{name: op.bsegs[depth], val: emptyObject, head: -1, tail: -1})
			st.addPending(len(st.entries)-1, k)
		}
		return nil
	}
	switch op.kind {
	case Remove:
		if x < 0 {
			return nil
		}
		st.entries[x].deleted = true
		if isObject {
			st.deleteOthers(eLo, st.entries[x].name, x)
		}
	case Add, Set, Replace:
		if x >= 0 && op.kind != Add {
			e := &st.entries[x]
			e.val, e.head, e.tail = p.value(st, op), -1, -1
			if isObject {
				st.deleteOthers(eLo, e.name, x)
			}
		}
		if x < 0 && op.kind != Replace && isObject {
			st.entries = append(st.entries, entry{name: op.bsegs[depth], val: p.value(st, op), head: -1, tail: -1})
		}
	case Append:
		v := p.value(st, op)
		if x < 0 {
			if !isObject {
				return nil
			}
			a0 := len(st.arena)
			st.arena = append(st.arena, '[')
			st.arena = append(st.arena, v...)
			st.arena = append(st.arena, ']')
			st.entries = append(st.entries, entry{name: op.bsegs[depth], val: st.arena[a0:], head: -1, tail: -1})
			return nil
		}
		if isObject {
			st.deleteOthers(eLo, st.entries[x].name, x)
		}
		cur, err := p.materialize(st, x, depth)
		if err != nil {
			return err
		}
		a0 := len(st.arena)
		switch {
		case string(cur) == "null":
			st.arena = append(st.arena, '[')
		case cur[0] == '[':
			// Reopen the array: drop "]" and, unless it is empty, add ",".
			body := cur[:len(cur)-1]
			st.arena = append(st.arena, body...)
			if t := body[skipSpaceBack(body)-1]; t != '[' {
				st.arena = append(st.arena, ',')
			}
		default:
			st.arena = append(st.arena, '[')
			st.arena = append(st.arena, cur...)
			st.arena = append(st.arena, ',')
		}
		st.arena = append(st.arena, v...)
		st.arena = append(st.arena, ']')
		e := &st.entries[x]
		e.val, e.head, e.tail = st.arena[a0:len(st.arena):len(st.arena)], -1, -1
	case Rename:
		if x < 0 || !isObject || string(st.entries[x].name) == string(op.to) {
			return nil
		}
		st.deleteOthers(eLo, st.entries[x].name, x)
		st.deleteOthers(eLo, op.to, x)
		e := &st.entries[x]
		e.name, e.renamed = op.to, true
	}
	return nil
}

// skipSpaceBack returns the length of b without its trailing white space.
func skipSpaceBack(b []byte) int {
	n := len(b)
	for n > 0 && isSpace(b[n-1]) {
		n--
	}
	return n
}

// materialize performs the pending operations of entry x, so that its
// value can be used whole (to append to it), and returns the value.
func (p *Program) materialize(st *state, x, depth int) ([]byte, error) {
	e := st.entries[x]
	if e.head < 0 {
		return e.val, nil
	}
	lo := len(st.ops)
	for q := e.head; q >= 0; q = st.pend[q].next {
		st.ops = append(st.ops, st.pend[q].op)
	}
	// The edit may build values in the arena itself, so it writes into a
	// buffer of its own depth, copied into the arena afterwards.
	buf, _, err := p.edit(st, st.tmp[depth][:0], e.val, 0, lo, len(st.ops), depth+1)
	st.tmp[depth] = buf[:0]
	st.ops = st.ops[:lo]
	if err != nil {
		return nil, err
	}
	a0 := len(st.arena)
	st.arena = append(st.arena, buf...)
	v := st.arena[a0:len(st.arena):len(st.arena)]
	ent := &st.entries[x]
	ent.val, ent.head, ent.tail = v, -1, -1
	return v, nil
}
