package config

import (
	"errors"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ValueDecoder is implemented by types that decode themselves from a raw
// TOML value (string, int64, float64, bool, time.Time, []any or
// map[string]any, with "${VAR}" already expanded). The returned error says
// why the value is wrong, without position and without echoing the value:
// the decoder adds both.
type ValueDecoder interface {
	DecodeConfig(v any) error
}

// Defaulter is implemented by structs that fill in their defaults before
// they are decoded; it is called on every new element of a list of tables.
type Defaulter interface {
	SetDefaults()
}

var (
	valueDecoderType = reflect.TypeFor[ValueDecoder]()
	defaulterType    = reflect.TypeFor[Defaulter]()
	tableType        = reflect.TypeFor[Table]()
	timeType         = reflect.TypeFor[time.Time]()
	secretType       = reflect.TypeFor[Secret]()
)

// decoder fills typed structs from the raw tree the TOML parser produced.
type decoder struct {
	rep    *reporter
	lookup func(string) (string, bool) // environment
	// seen is told of every value a Table of the file is decoded into
	// (see Config.RecordDecodes).
	seen *decodeLog
}

// decodeLog holds the function told of the values the Tables of one
// configuration are decoded into, nil until one is set.
type decodeLog struct {
	mu sync.Mutex
	f  func(path string, v any)
}

func (l *decodeLog) record(path string, v any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f(path, v)
	}
}

func newDecoder(rep *reporter) *decoder {
	return &decoder{rep: rep, lookup: os.LookupEnv}
}

// decode stores raw into v, which must be settable, reporting every problem
// under path.
func (d *decoder) decode(path string, raw any, v reflect.Value) {
	if v.Type() == secretType && v.CanAddr() {
		s := v.Addr().Interface().(*Secret)
		// A secret's "file:" path is the file's to resolve, and a secret
		// never goes into an error message: it never fails to decode.
		val, _ := d.expandAll(path, raw)
		s.decode(d.rep.file, val)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(valueDecoderType) {
		val, expanded := d.expandAll(path, raw)
		if err := v.Addr().Interface().(ValueDecoder).DecodeConfig(val); err != nil {
			var te *typeError
			if errors.As(err, &te) {
				d.rep.add(path, te.message(!expanded))
			} else {
				d.rep.add(path, withValue(err.Error(), raw, expanded))
			}
		}
		return
	}
	t := v.Type()
	if t == tableType {
		m, ok := raw.(map[string]any)
		if !ok {
			d.wrongType(path, "a table", raw)
			return
		}
		// A copy: the parse tree's strings are slices of the whole file.
		v.Set(reflect.ValueOf(Table{path: path, raw: cloneTree(m).(map[string]any), dec: d}))
		return
	}
	if t == timeType {
		if tm, ok := raw.(time.Time); ok {
			v.Set(reflect.ValueOf(tm))
		} else {
			d.wrongType(path, "a datetime", raw)
		}
		return
	}
	switch t.Kind() {
	case reflect.Interface:
		val, _ := d.expandAll(path, raw)
		if val != nil {
			v.Set(reflect.ValueOf(val))
		}
	case reflect.Pointer:
		e := reflect.New(t.Elem())
		d.applyDefaults(e)
		d.decode(path, raw, e.Elem())
		v.Set(e)
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			// Without the value: string fields hold tokens and passwords.
			d.rep.add(path, "expected a string, got "+typeName(raw))
			return
		}
		v.SetString(d.expand(path, s))
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			d.wrongType(path, "true or false", raw)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := raw.(int64)
		if !ok {
			d.wrongType(path, "an integer", raw)
			return
		}
		if v.OverflowInt(n) {
			d.rep.add(path, "integer "+strconv.FormatInt(n, 10)+" is out of range")
			return
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := raw.(int64)
		if !ok {
			d.wrongType(path, "an integer", raw)
			return
		}
		if n < 0 || v.OverflowUint(uint64(n)) {
			d.rep.add(path, "integer "+strconv.FormatInt(n, 10)+" is out of range")
			return
		}
		v.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		switch x := raw.(type) {
		case float64:
			v.SetFloat(x)
		case int64:
			v.SetFloat(float64(x))
		default:
			d.wrongType(path, "a number", raw)
		}
	case reflect.Slice:
		d.decodeSlice(path, raw, v)
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			d.wrongType(path, "a table", raw)
			return
		}
		if t.Key().Kind() != reflect.String {
			d.rep.add(path, "unsupported map key type "+t.Key().String())
			return
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for _, k := range sortedKeys(m) {
			e := reflect.New(t.Elem()).Elem()
			d.decode(childPath(path, k), m[k], e)
			out.SetMapIndex(reflect.ValueOf(strings.Clone(k)).Convert(t.Key()), e)
		}
		v.Set(out)
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			d.wrongType(path, "a table", raw)
			return
		}
		d.decodeStruct(path, m, v)
	default:
		d.rep.add(path, "unsupported field type "+t.String())
	}
}

func (d *decoder) decodeSlice(path string, raw any, v reflect.Value) {
	var items []any
	switch x := raw.(type) {
	case []any:
		items = x
	case []map[string]any:
		items = make([]any, len(x))
		for i := range x {
			items[i] = x[i]
		}
	default:
		d.wrongType(path, "an array", raw)
		return
	}
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, item := range items {
		e := out.Index(i)
		d.applyDefaults(e.Addr())
		d.decode(indexPath(path, i), item, e)
	}
	v.Set(out)
}

// wrongType reports a value of the wrong TOML type, with the value itself
// (as written in the file: a "${VAR}" reference is shown as such).
func (d *decoder) wrongType(path, want string, raw any) {
	d.rep.add(path, (&typeError{want: want, v: raw}).Error())
}

func (d *decoder) applyDefaults(p reflect.Value) {
	if p.Type().Implements(defaulterType) {
		p.Interface().(Defaulter).SetDefaults()
	}
}

// decodeStruct decodes a table into a struct whose fields carry toml tags.
// Keys without a field are reported, with the closest field name as a
// hint, unless the struct has a Table field tagged `toml:",remain"`: that
// field then holds them, undecoded, for their owners (see
// Consumer.Credentials).
func (d *decoder) decodeStruct(path string, m map[string]any, v reflect.Value) {
	info := structInfoOf(v.Type())
	fields, remain := info.fields, info.remain
	var rest map[string]any
	for _, k := range sortedKeys(m) {
		idx, ok := fields[k]
		if !ok && remain != nil {
			if rest == nil {
				rest = map[string]any{}
			}
			rest[k] = m[k]
			continue
		}
		if !ok {
			reason := "unknown key"
			if s := suggest(k, fields); s != "" {
				reason += ` (did you mean "` + s + `"?)`
			}
			d.rep.add(childPath(path, k), reason)
			continue
		}
		d.decode(childPath(path, k), m[k], v.FieldByIndex(idx))
	}
	if remain != nil {
		// Not copied, unlike the other tables (see expand): a file may
		// hold a million [[consumers]], whose credentials are read once,
		// when the runtime is built, and not kept.
		v.FieldByIndex(remain).Set(reflect.ValueOf(Table{path: path, raw: rest, dec: d}))
	}
	// A table the file leaves out (a step without [config]) still knows
	// its place, so that its owner's problems carry file, line and key.
	for name, idx := range fields {
		f := v.FieldByIndex(idx)
		if remain != nil && slices.Equal(idx, remain) {
			continue
		}
		if f.Type() == tableType && f.Interface().(Table).path == "" {
			f.Set(reflect.ValueOf(Table{path: childPath(path, name), dec: d}))
		}
	}
}

// structInfo is what decodeStruct needs of a struct type, made once per
// type: a file of a million [[consumers]] decodes a million structs.
type structInfo struct {
	fields map[string][]int // read only
	remain []int
}

var structInfos sync.Map // reflect.Type -> *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si, _ := structInfos.LoadOrStore(t, &structInfo{fields: structFields(t), remain: remainField(t)})
	return si.(*structInfo)
}

// remainField returns the index of t's Table field tagged
// `toml:",remain"`, nil if it has none.
func remainField(t reflect.Type) []int {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, opts, _ := strings.Cut(f.Tag.Get("toml"), ","); opts == "remain" && f.Type == tableType && f.IsExported() {
			return []int{i}
		}
	}
	return nil
}

// structFields maps TOML key names to field indexes; embedded structs
// contribute their fields. Fields tagged "-" or unexported are skipped.
func structFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" || opts == "remain" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, idx := range structFields(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

// suggest returns the field name closest to key, if it is close enough to
// be a likely typo.
func suggest(key string, fields map[string][]int) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	return Suggest(key, names)
}

// Suggest returns the name closest to word, if it is close enough to be a
// likely typo of it, or "". It is the did-you-mean of unknown keys, for
// other names written in a configuration (plugin names, handler names):
// `unknown plugin "header" (did you mean "headers"?)`.
func Suggest(word string, names []string) string {
	best, bestDist := "", 3
	for _, name := range names {
		if dist := editDistance(strings.ToLower(word), name); dist < bestDist || dist == bestDist && name < best && best != "" {
			best, bestDist = name, dist
		}
	}
	if bestDist > len(word)/2 {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// expandAll expands environment references in every string inside raw and
// reports whether any reference was expanded.
func (d *decoder) expandAll(path string, raw any) (any, bool) {
	switch x := raw.(type) {
	case string:
		s := d.expand(path, x)
		return s, s != x
	case []any:
		out := make([]any, len(x))
		any := false
		for i, e := range x {
			var ex bool
			out[i], ex = d.expandAll(indexPath(path, i), e)
			any = any || ex
		}
		return out, any
	case []map[string]any:
		out := make([]any, len(x))
		any := false
		for i, e := range x {
			var ex bool
			out[i], ex = d.expandAll(indexPath(path, i), e)
			any = any || ex
		}
		return out, any
	case map[string]any:
		out := make(map[string]any, len(x))
		any := false
		for k, e := range x {
			var ex bool
			out[strings.Clone(k)], ex = d.expandAll(childPath(path, k), e)
			any = any || ex
		}
		return out, any
	}
	return raw, false
}

// expand replaces ${VAR} and ${VAR:-fallback} with the environment's value;
// "$${" stands for a literal "${". A variable that is not set, with no
// fallback, is reported. The string returned is a copy: those of the
// parse tree are slices of the whole file, which a decoded value must not
// keep (a file of a million consumers is tens of megabytes, their keys
// included).
func (d *decoder) expand(path, s string) string {
	if !strings.Contains(s, "${") {
		return strings.Clone(s)
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			d.rep.add(path, `unterminated "${" in string (write "$${" for a literal "${")`)
			b.WriteString(s[i:])
			return b.String()
		}
		ref := s[i+2 : i+end]
		name, fallback, hasFallback := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			d.rep.add(path, `invalid environment variable name in "${`+ref+`}"`)
		} else if val, ok := d.lookup(name); ok && (val != "" || !hasFallback) {
			b.WriteString(val)
			d.rep.env.add(val)
		} else if hasFallback {
			b.WriteString(fallback)
		} else {
			d.rep.add(path, "environment variable "+name+" is not set")
		}
		s = s[i+end+1:]
	}
}

// cloneTree returns a deep copy of a value of the parse tree, strings
// included, for a Table that outlives the parse (see expand).
func cloneTree(raw any) any {
	switch x := raw.(type) {
	case string:
		return strings.Clone(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneTree(e)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = cloneTree(e).(map[string]any)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.Clone(k)] = cloneTree(e)
		}
		return out
	}
	return raw
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// withValue appends the offending value to a reason, unless the value came
// from the environment (it may be a secret) or is not a short scalar.
func withValue(reason string, raw any, fromEnv bool) string {
	if fromEnv {
		return reason + " (value from the environment not shown)"
	}
	switch x := raw.(type) {
	case string:
		if len(x) <= 64 {
			return reason + ", got " + strconv.Quote(x)
		}
	case int64:
		return reason + ", got " + strconv.FormatInt(x, 10)
	case float64:
		if !math.IsInf(x, 0) {
			return reason + ", got " + strconv.FormatFloat(x, 'g', -1, 64)
		}
	}
	return reason
}
