package config

import (
	"encoding"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Redacted is what Dump writes in place of a secret.
const Redacted = "[redacted]"

// Dump writes c as TOML, as moongate uses it: every key of every section,
// defaults filled in, "${VAR}" references expanded, relative paths
// resolved (and made absolute, so that the output means the same wherever
// it is saved), and secrets replaced by "[redacted]". It is valid input
// for moongate, but for the secrets.
//
// Secrets are the values of type Secret and of string fields tagged
// `secret` (admin.token, upstreams.sticky.secret). A plugin's [config]
// table, and a consumer's credentials, are written as their plugins
// decoded them, with their defaults, when decoded holds what they were
// decoded into (see RecordDecodes), by key path; in the maps of such a
// table (headers a step sets, a body's fields), the strings under names
// that name a credential (Authorization, X-API-Key, Cookie, password,
// ...: see secretKey) are redacted. A table of which no
// struct was recorded (a script's, a disabled step's) is written as it
// is in the file, expanded, with the strings under keys that name a
// secret (key, keys, secret, password, token, ...: see secretKey)
// redacted.
func (c *Config) Dump(w io.Writer, decoded map[string][]any) error {
	d := &dumper{decoded: decoded}
	t := d.structTable(reflect.ValueOf(c).Elem())
	var b strings.Builder
	writeTable(&b, nil, t)
	_, err := io.WriteString(w, b.String())
	return err
}

// tval is a value to write: a literal (scalar, inline array or table),
// a table, or an array of tables.
type tval struct {
	lit    string
	table  *ttable
	tables []*ttable
}

// ttable is a TOML table whose keys keep their order.
type ttable struct {
	keys []string
	vals []tval
}

func (t *ttable) add(k string, v tval) {
	for _, have := range t.keys {
		if have == k {
			return
		}
	}
	t.keys = append(t.keys, k)
	t.vals = append(t.vals, v)
}

type dumper struct {
	decoded map[string][]any
}

// structTable converts a struct to a table, its fields in order.
func (d *dumper) structTable(v reflect.Value) *ttable {
	t := &ttable{}
	d.addFields(t, v)
	return t
}

func (d *dumper) addFields(t *ttable, v reflect.Value) {
	st := v.Type()
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		if opts == "remain" && f.Type == tableType {
			// A consumer's credentials: their keys belong to the consumer.
			rest := d.table(fv.Interface().(Table))
			for j, k := range rest.keys {
				t.add(k, rest.vals[j])
			}
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			d.addFields(t, fv)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if val, ok := d.value(fv, f.Tag); ok {
			t.add(name, val)
		}
	}
}

// value converts one field's value; ok is false for what is not written
// (a nil pointer: an unset optional table or value).
func (d *dumper) value(v reflect.Value, tag reflect.StructTag) (tval, bool) {
	switch {
	case v.Type() == secretType:
		if v.Interface().(Secret).Empty() {
			return tval{lit: `""`}, true
		}
		return tval{lit: quoteString(Redacted)}, true
	case v.Type() == tableType:
		return tval{table: d.table(v.Interface().(Table))}, true
	case v.Kind() == reflect.String && tagOption(tag, "secret") && v.String() != "":
		return tval{lit: quoteString(Redacted)}, true
	case v.Kind() == reflect.String && tagOption(tag, "path"):
		return tval{lit: quoteString(absPath(v.String()))}, true
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String && tagOption(tag, "path"):
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = quoteString(absPath(v.Index(i).String()))
		}
		return tval{lit: "[" + strings.Join(parts, ", ") + "]"}, true
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return tval{}, false
		}
		return d.value(v.Elem(), tag)
	case reflect.Struct:
		if isLiteralStruct(v.Type()) {
			break
		}
		return tval{table: d.structTable(v)}, true
	case reflect.Map:
		// A plugin's map of names to values (headers to set, a body's
		// fields) holds a credential when its name says so: X-API-Key,
		// Authorization, password.
		v = redactSecretKeys(v, false)
		if lit, ok := literal(v); ok {
			return tval{lit: lit}, true
		}
		return tval{table: d.mapTable(v, false)}, true
	case reflect.Slice, reflect.Array:
		if et := v.Type().Elem(); v.Len() == 0 && et.Kind() == reflect.Struct && !isLiteralStruct(et) {
			return tval{}, false // no [[tables]]: the default
		}
		if isTableList(v) {
			out := make([]*ttable, v.Len())
			for i := range out {
				e := v.Index(i)
				for e.Kind() == reflect.Pointer || e.Kind() == reflect.Interface {
					e = e.Elem()
				}
				if e.Kind() == reflect.Struct {
					out[i] = d.structTable(e)
				} else {
					out[i] = d.mapTable(e, false)
				}
			}
			return tval{tables: out}, true
		}
	}
	if lit, ok := literal(v); ok {
		return tval{lit: lit}, true
	}
	return tval{}, false
}

// table converts a plugin's table: as its plugin decoded it when that was
// recorded, as written otherwise.
func (d *dumper) table(t Table) *ttable {
	out := &ttable{}
	for _, v := range d.decoded[t.path] {
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
			continue
		}
		typed := d.structTable(rv.Elem())
		for i, k := range typed.keys {
			out.add(k, typed.vals[i])
		}
	}
	if len(out.keys) > 0 {
		return out
	}
	raw, err := t.Raw()
	if err != nil {
		raw = t.raw
	}
	return d.mapTable(reflect.ValueOf(raw), false)
}

// mapTable converts a map with string keys, its keys sorted. Strings
// under a key that names a secret are redacted (redact), as are those of
// every key below it.
func (d *dumper) mapTable(v reflect.Value, redact bool) *ttable {
	t := &ttable{}
	if !v.IsValid() || v.Kind() != reflect.Map {
		return t
	}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))
		for e.Kind() == reflect.Interface && !e.IsNil() {
			e = e.Elem()
		}
		r := redact || secretKey(k)
		switch {
		case e.Kind() == reflect.Map:
			t.add(k, tval{table: d.mapTable(e, r)})
		case isTableList(e):
			list := make([]*ttable, e.Len())
			for i := range list {
				el := e.Index(i)
				for el.Kind() == reflect.Interface && !el.IsNil() {
					el = el.Elem()
				}
				list[i] = d.mapTable(el, r)
			}
			t.add(k, tval{tables: list})
		default:
			if r {
				e = redactStrings(e)
			}
			if lit, ok := literal(e); ok {
				t.add(k, tval{lit: lit})
			}
		}
	}
	return t
}

// isTableList reports whether v is a non-empty list of tables (structs
// or maps), written as an array of tables.
func isTableList(v reflect.Value) bool {
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array || v.Len() == 0 {
		return false
	}
	for i := 0; i < v.Len(); i++ {
		e := v.Index(i)
		for (e.Kind() == reflect.Pointer || e.Kind() == reflect.Interface) && !e.IsNil() {
			e = e.Elem()
		}
		switch {
		case e.Kind() == reflect.Map:
		case e.Kind() == reflect.Struct && !isLiteralStruct(e.Type()):
		default:
			return false
		}
	}
	return true
}

// isLiteralStruct reports whether a struct type is written as a value
// (a datetime, a secret, a type that marshals itself to text).
func isLiteralStruct(t reflect.Type) bool {
	return t == timeType || t == secretType || t.Implements(textMarshalerType)
}

var textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()

// secretWords are the words of a key that make its strings secrets in a
// table of unknown type, or in a map of a plugin's table (a header's
// name: Authorization, X-API-Key, Cookie).
var secretWords = map[string]bool{"key": true, "keys": true, "secret": true, "secrets": true, "password": true,
	"passwords": true, "passwd": true, "token": true, "tokens": true, "apikey": true, "credential": true,
	"credentials": true, "private": true, "auth": true, "authorization": true, "cookie": true, "cookies": true,
	"signature": true, "passphrase": true}

// secretKey reports whether a key of a table of unknown type, or of a
// map, names a secret: one of its words (split at "_", "-" and ".") is
// one of secretWords.
func secretKey(k string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(k), func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if secretWords[w] {
			return true
		}
	}
	return false
}

// redactSecretKeys returns the map (or list) v with the strings under
// keys that name a secret (see secretKey), at any depth, replaced by
// Redacted; every string when redact. v itself when there is none.
func redactSecretKeys(v reflect.Value, redact bool) reflect.Value {
	for (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return v
		}
		out := make(map[string]any, v.Len())
		changed := false
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			r := redactSecretKeys(e, redact || secretKey(k.String()))
			if !reflect.DeepEqual(r.Interface(), e.Interface()) {
				changed = true
			}
			out[k.String()] = r.Interface()
		}
		if !changed {
			return v
		}
		return reflect.ValueOf(out)
	case reflect.Slice, reflect.Array:
		if !redact && v.Type().Elem().Kind() == reflect.String {
			return v
		}
		out := make([]any, v.Len())
		changed := false
		for i := range out {
			e := v.Index(i)
			r := redactSecretKeys(e, redact)
			if !reflect.DeepEqual(r.Interface(), e.Interface()) {
				changed = true
			}
			out[i] = r.Interface()
		}
		if !changed {
			return v
		}
		return reflect.ValueOf(out)
	case reflect.String:
		if redact {
			return redactStrings(v)
		}
	}
	return v
}

// redactStrings returns v with every string in it (a string, or a list
// holding strings) replaced by Redacted.
func redactStrings(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return v
		}
		return reflect.ValueOf(Redacted)
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			e := v.Index(i)
			for e.Kind() == reflect.Interface && !e.IsNil() {
				e = e.Elem()
			}
			out[i] = redactStrings(e).Interface()
		}
		return reflect.ValueOf(out)
	}
	return v
}

// literal formats v as an inline TOML value, if it can be one.
func literal(v reflect.Value) (string, bool) {
	if !v.IsValid() {
		return "", false
	}
	switch v.Type() {
	case secretType:
		if v.Interface().(Secret).Empty() {
			return `""`, true
		}
		return quoteString(Redacted), true
	case timeType:
		return v.Interface().(time.Time).Format(time.RFC3339Nano), true
	}
	switch x := v.Interface().(type) {
	case Duration:
		return quoteString(durationString(x)), true
	case Size:
		return quoteString(x.String()), true
	}
	if v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface && v.Type().Implements(textMarshalerType) {
		if b, err := v.Interface().(encoding.TextMarshaler).MarshalText(); err == nil {
			return quoteString(string(b)), true
		}
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return literal(v.Elem())
	case reflect.String:
		return quoteString(v.String()), true
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		switch {
		case math.IsInf(f, 1):
			return "inf", true
		case math.IsInf(f, -1):
			return "-inf", true
		case math.IsNaN(f):
			return "nan", true
		}
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s, true
	case reflect.Slice, reflect.Array:
		parts := make([]string, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			p, ok := literal(v.Index(i))
			if !ok {
				return "", false
			}
			parts = append(parts, p)
		}
		return "[" + strings.Join(parts, ", ") + "]", true
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			p, ok := literal(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())))
			if !ok {
				return "", false
			}
			parts = append(parts, quoteKey(k)+" = "+p)
		}
		if len(parts) == 0 {
			return "{}", true
		}
		return "{ " + strings.Join(parts, ", ") + " }", true
	case reflect.Struct:
		t := (&dumper{}).structTable(v)
		parts := make([]string, 0, len(t.keys))
		for i, k := range t.keys {
			if t.vals[i].lit == "" {
				return "", false
			}
			parts = append(parts, quoteKey(k)+" = "+t.vals[i].lit)
		}
		return "{ " + strings.Join(parts, ", ") + " }", true
	}
	return "", false
}

// writeTable writes t under the header path: its literals first, then
// its tables and arrays of tables (TOML wants them in that order).
func writeTable(b *strings.Builder, path []string, t *ttable) {
	for i, k := range t.keys {
		if v := t.vals[i]; v.table == nil && v.tables == nil {
			b.WriteString(quoteKey(k) + " = " + v.lit + "\n")
		}
	}
	for i, k := range t.keys {
		v := t.vals[i]
		sub := append(append([]string(nil), path...), quoteKey(k))
		switch {
		case v.table != nil:
			b.WriteString("\n[" + strings.Join(sub, ".") + "]\n")
			writeTable(b, sub, v.table)
		case v.tables != nil:
			for _, e := range v.tables {
				b.WriteString("\n[[" + strings.Join(sub, ".") + "]]\n")
				writeTable(b, sub, e)
			}
		}
	}
}

// quoteKey writes a key bare when TOML allows it, quoted otherwise.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return quoteString(k)
		}
	}
	return k
}

// quoteString writes a TOML basic string.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteString(`\u` + strconv.FormatInt(int64(r)+0x10000, 16)[1:])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// durationString writes d as it would be written by hand: "1m" rather
// than "1m0s", "1h" rather than "1h0m0s".
func durationString(d Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// absPath makes a resolved path absolute, so that a dump means the same
// wherever it is saved.
func absPath(p string) string {
	if p == "" {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
