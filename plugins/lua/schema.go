package lua

import (
	"errors"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/plugins/lua/pattern"
	"github.com/moongate/moongate/sdk"
	glua "github.com/yuin/gopher-lua"
)

// moduleKeys are the keys a script's module table may have; keys that
// start with "_" are the script's own (helpers its tests call).
var moduleKeys = []string{"on_request", "on_response", "on_log", "schema"}

// unknownModuleKeys returns why the module table mod has keys moongate
// does not know (a misspelt handler would otherwise never run), or "".
func unknownModuleKeys(mod *glua.LTable) string {
	var bad []string
	mod.ForEach(func(k, _ glua.LValue) {
		name, ok := k.(glua.LString)
		if !ok {
			bad = append(bad, "the module's keys must be names, got "+k.Type().String()+" "+k.String())
			return
		}
		if strings.HasPrefix(string(name), "_") || slices.Contains(moduleKeys, string(name)) {
			return
		}
		why := "unknown key " + strconv.Quote(string(name)) + " in the module's table"
		if s := config.Suggest(string(name), moduleKeys); s != "" {
			why += ` (did you mean "` + s + `"?)`
		} else {
			why += " (a module returns on_request, on_response, on_log and schema; names starting with _ are the script's own)"
		}
		bad = append(bad, why)
	})
	sort.Strings(bad)
	return strings.Join(bad, "; ")
}

// Types a schema field may declare.
var schemaTypes = []string{"string", "number", "integer", "boolean", "array", "table"}

// fieldAttrs are the attributes of a schema field.
var fieldAttrs = []string{"type", "required", "default", "one_of", "min", "max", "min_length", "max_length",
	"pattern", "items", "fields", "values", "description"}

// field is one field of a module's config schema: what its value must
// be, and its default.
type field struct {
	typ            string // one of schemaTypes, "" for any
	required       bool
	def            any // Go value (from sdk.State.ToGo); nil: none
	oneOf          []any
	min, max       *float64
	minLen, maxLen int // -1: no bound
	pattern        *pattern.Pattern
	patternSrc     string
	items          *field            // array: each item
	fields         map[string]*field // table: its known keys (others are errors)
	values         *field            // table: each value
}

// schema is a module's config schema: its top-level fields.
type schema map[string]*field

// parseSchema reads the schema table a module declares; it returns the
// problems of the schema itself, each starting with its path
// ("schema.percent.type: ...").
func parseSchema(s *sdk.State, v glua.LValue) (schema, []string) {
	p := &schemaParser{s: s}
	t, ok := v.(*glua.LTable)
	if !ok {
		return nil, []string{"schema must be a table of fields, got " + v.Type().String()}
	}
	fields := p.fields("schema", t)
	sort.Strings(p.errs)
	return fields, p.errs
}

type schemaParser struct {
	s     *sdk.State
	errs  []string
	depth int
}

// maxSchemaDepth bounds the nesting of a schema (items, fields, values),
// which also stops a schema whose tables refer to themselves.
const maxSchemaDepth = 32

func (p *schemaParser) fail(path, reason string) { p.errs = append(p.errs, path+": "+reason) }

// fields reads a table of name -> field.
func (p *schemaParser) fields(path string, t *glua.LTable) schema {
	out := schema{}
	t.ForEach(func(k, v glua.LValue) {
		name, ok := k.(glua.LString)
		if !ok {
			p.fail(path, "field names must be strings, got "+k.Type().String())
			return
		}
		if f := p.field(path+"."+string(name), v); f != nil {
			out[string(name)] = f
		}
	})
	return out
}

// field reads one field: a table of attributes, or a type name alone
// ("number" is { type = "number" }).
func (p *schemaParser) field(path string, v glua.LValue) *field {
	if p.depth++; p.depth > maxSchemaDepth {
		p.depth--
		p.fail(path, "nested deeper than 32 levels (or a table that contains itself)")
		return nil
	}
	defer func() { p.depth-- }()
	f := &field{minLen: -1, maxLen: -1}
	switch x := v.(type) {
	case glua.LString:
		p.typ(path, f, x)
		return f
	case *glua.LTable:
	default:
		p.fail(path, "must be a table of attributes or a type name, got "+v.Type().String())
		return nil
	}
	t := v.(*glua.LTable)
	t.ForEach(func(k, _ glua.LValue) {
		name, ok := k.(glua.LString)
		if !ok || !slices.Contains(fieldAttrs, string(name)) {
			why := "unknown attribute " + strconv.Quote(k.String())
			if s := config.Suggest(k.String(), fieldAttrs); s != "" {
				why += ` (did you mean "` + s + `"?)`
			} else {
				why += " (known: " + strings.Join(fieldAttrs, ", ") + ")"
			}
			p.fail(path, why)
		}
	})
	get := func(name string) glua.LValue { return t.RawGetString(name) }
	switch x := get("type").(type) {
	case *glua.LNilType:
	case glua.LString:
		p.typ(path+".type", f, x)
	default:
		p.fail(path+".type", "must be a type name, got "+x.Type().String())
	}
	switch x := get("required").(type) {
	case *glua.LNilType:
	case glua.LBool:
		f.required = bool(x)
	default:
		p.fail(path+".required", "must be true or false, got "+x.Type().String())
	}
	for _, b := range []struct {
		name string
		dst  **float64
	}{{"min", &f.min}, {"max", &f.max}} {
		switch x := get(b.name).(type) {
		case *glua.LNilType:
		case glua.LNumber:
			n := float64(x)
			*b.dst = &n
		default:
			p.fail(path+"."+b.name, "must be a number, got "+x.Type().String())
		}
	}
	for _, b := range []struct {
		name string
		dst  *int
	}{{"min_length", &f.minLen}, {"max_length", &f.maxLen}} {
		switch x := get(b.name).(type) {
		case *glua.LNilType:
		case glua.LNumber:
			if x < 0 || float64(x) != math.Trunc(float64(x)) {
				p.fail(path+"."+b.name, "must be a whole number of at least 0, got "+x.String())
			} else {
				*b.dst = int(x)
			}
		default:
			p.fail(path+"."+b.name, "must be a number, got "+x.Type().String())
		}
	}
	if (f.min != nil || f.max != nil) && f.typ != "" && f.typ != "number" && f.typ != "integer" {
		p.fail(path, "min and max apply to numbers (min_length and max_length to strings and arrays)")
	}
	if (f.minLen >= 0 || f.maxLen >= 0) && f.typ != "" && f.typ != "string" && f.typ != "array" {
		p.fail(path, "min_length and max_length apply to strings and arrays")
	}
	switch x := get("pattern").(type) {
	case *glua.LNilType:
	case glua.LString:
		pat, err := pattern.Compile(string(x), nil)
		if err != nil {
			p.fail(path+".pattern", errorMessage(err))
		} else {
			f.pattern, f.patternSrc = pat, string(x)
		}
		if f.typ != "" && f.typ != "string" {
			p.fail(path+".pattern", "applies to strings")
		}
	default:
		p.fail(path+".pattern", "must be a Lua pattern (a string), got "+x.Type().String())
	}
	switch x := get("one_of").(type) {
	case *glua.LNilType:
	case *glua.LTable:
		for i := 1; i <= x.Len(); i++ {
			switch e := x.RawGetInt(i).(type) {
			case glua.LString:
				f.oneOf = append(f.oneOf, string(e))
			case glua.LNumber:
				f.oneOf = append(f.oneOf, float64(e))
			case glua.LBool:
				f.oneOf = append(f.oneOf, bool(e))
			default:
				p.fail(path+".one_of", "must list strings, numbers or booleans, got "+e.Type().String())
			}
		}
		if len(f.oneOf) == 0 {
			p.fail(path+".one_of", "must list at least one value")
		}
	default:
		p.fail(path+".one_of", "must be a list of values, got "+x.Type().String())
	}
	if x := get("items"); x != glua.LNil {
		if f.typ != "array" {
			p.fail(path+".items", `applies to type = "array"`)
		}
		f.items = p.field(path+".items", x)
	}
	switch x := get("fields").(type) {
	case *glua.LNilType:
	case *glua.LTable:
		if f.typ != "table" {
			p.fail(path+".fields", `applies to type = "table"`)
		}
		f.fields = p.fields(path+".fields", x)
	default:
		p.fail(path+".fields", "must be a table of fields, got "+x.Type().String())
	}
	if x := get("values"); x != glua.LNil {
		if f.typ != "table" {
			p.fail(path+".values", `applies to type = "table"`)
		}
		if f.fields != nil {
			p.fail(path+".values", "a table has either fields (known keys) or values (any keys)")
		}
		f.values = p.field(path+".values", x)
	}
	if x := get("description"); x != glua.LNil {
		if _, ok := x.(glua.LString); !ok {
			p.fail(path+".description", "must be a string, got "+x.Type().String())
		}
	}
	if d := get("default"); d != glua.LNil {
		def, err := p.s.ToGo(d)
		if err != nil {
			p.fail(path+".default", err.Error())
		} else {
			// The default must pass the field's own checks.
			var why []string
			f.def = f.check("default", def, func(_, reason string) { why = append(why, reason) })
			if len(why) > 0 {
				p.fail(path+".default", strings.Join(why, "; "))
			}
		}
	}
	return f
}

func (p *schemaParser) typ(path string, f *field, name glua.LString) {
	if !slices.Contains(schemaTypes, string(name)) {
		why := "unknown type " + strconv.Quote(string(name))
		if s := config.Suggest(string(name), schemaTypes); s != "" {
			why += ` (did you mean "` + s + `"?)`
		} else {
			why += " (known: " + strings.Join(schemaTypes, ", ") + ")"
		}
		p.fail(path, why)
		return
	}
	f.typ = string(name)
}

// errorMessage is a pattern compile error as Lua words it.
func errorMessage(err error) string {
	var pe *pattern.Error
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return err.Error()
}

// apply checks conf against the schema, reporting each problem at its
// key path inside the config table, and returns conf with the defaults
// of absent fields filled in (a new map: conf is left as it is).
func (sch schema) apply(conf map[string]any, report func(key, reason string)) map[string]any {
	return checkFields("", conf, sch, report)
}

// checkFields checks the table m (at path, "" for the config itself)
// against fields: unknown keys, required and default fields, and each
// value. It returns a copy of m with the defaults filled in.
func checkFields(path string, m map[string]any, fields map[string]*field, report func(key, reason string)) map[string]any {
	out := make(map[string]any, len(m)+len(fields))
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := fields[k]
		if !ok {
			why := "unknown key: the script's schema does not declare it"
			if s := config.Suggest(k, names); s != "" {
				why += ` (did you mean "` + s + `"?)`
			}
			report(join(path, k), why)
			out[k] = m[k]
			continue
		}
		out[k] = f.check(join(path, k), m[k], report)
	}
	for _, name := range names {
		if _, ok := m[name]; ok {
			continue
		}
		f := fields[name]
		switch {
		case f.def != nil:
			out[name] = f.def
		case f.required:
			report(join(path, name), "is required by the script's schema")
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// check checks one value (never nil) against f and returns it, with the
// defaults of nested fields filled in.
func (f *field) check(path string, v any, report func(key, reason string)) any {
	// TOML and JSON say arrays of tables and empty tables in ways of
	// their own: make them what the field expects.
	switch x := v.(type) {
	case []map[string]any:
		items := make([]any, len(x))
		for i := range x {
			items[i] = x[i]
		}
		v = items
	case map[string]any:
		if len(x) == 0 && f.typ == "array" {
			v = []any{}
		}
	}
	if !f.typeOK(v) {
		report(path, "must be "+article(f.typ)+", got "+kindOf(v))
		return v
	}
	if len(f.oneOf) > 0 && !slices.ContainsFunc(f.oneOf, func(o any) bool { return sameValue(o, v) }) {
		list := make([]string, len(f.oneOf))
		for i, o := range f.oneOf {
			list[i] = formatValue(o)
		}
		report(path, "must be one of "+strings.Join(list, ", ")+", got "+shownValue(v))
	}
	if n, ok := number(v); ok {
		if f.min != nil && n < *f.min {
			report(path, "must be at least "+formatValue(*f.min)+", got "+formatValue(n))
		}
		if f.max != nil && n > *f.max {
			report(path, "must be at most "+formatValue(*f.max)+", got "+formatValue(n))
		}
	}
	switch x := v.(type) {
	case string:
		f.checkLength(path, len(x), "byte", report)
		if f.pattern != nil && !matches(f.pattern, x) {
			report(path, "must match the pattern "+strconv.Quote(f.patternSrc))
		}
	case []any:
		f.checkLength(path, len(x), "item", report)
		if f.items != nil {
			items := make([]any, len(x))
			for i, e := range x {
				items[i] = f.items.check(path+"["+strconv.Itoa(i)+"]", e, report)
			}
			v = items
		}
	case map[string]any:
		switch {
		case f.fields != nil:
			v = checkFields(path, x, f.fields, report)
		case f.values != nil:
			out := make(map[string]any, len(x))
			for _, k := range slices.Sorted(maps.Keys(x)) {
				out[k] = f.values.check(join(path, k), x[k], report)
			}
			v = out
		}
	}
	return v
}

// checkLength checks the length n of a string (unit "byte") or an
// array (unit "item").
func (f *field) checkLength(path string, n int, unit string, report func(key, reason string)) {
	count := func(n int) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	if f.minLen >= 0 && n < f.minLen {
		report(path, "must have at least "+count(f.minLen)+", got "+strconv.Itoa(n))
	}
	if f.maxLen >= 0 && n > f.maxLen {
		report(path, "must have at most "+count(f.maxLen)+", got "+strconv.Itoa(n))
	}
}

// typeOK reports whether v has the field's type.
func (f *field) typeOK(v any) bool {
	switch f.typ {
	case "":
		return true
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := number(v)
		return ok
	case "integer":
		n, ok := number(v)
		return ok && n == math.Trunc(n) && !math.IsInf(n, 0)
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "table":
		switch x := v.(type) {
		case map[string]any:
			return true
		case []any:
			// A list is a table too, unless the field names its keys.
			return len(x) == 0 || f.fields == nil && f.values == nil
		}
	}
	return false
}

// matches reports whether the Lua pattern p matches somewhere in s.
// Config values are short: the search is bounded all the same.
func matches(p *pattern.Pattern, s string) bool {
	checks := 0
	budget := &pattern.Budget{Check: func() error {
		if checks++; checks > 1000 {
			return errors.New("pattern too slow")
		}
		return nil
	}}
	var m pattern.Match
	found, err := p.Find(s, 0, budget, &m)
	return found && err == nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

func sameValue(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return a == b
}

func article(typ string) string {
	switch typ {
	case "integer", "array":
		return "an " + typ
	case "table":
		return "a table"
	}
	return "a " + typ
}

// kindOf names the type of a config value for a message.
func kindOf(v any) string {
	switch x := v.(type) {
	case string:
		return "a string"
	case int64, int:
		return "an integer (" + formatValue(x) + ")"
	case float64:
		return "a number (" + formatValue(x) + ")"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a datetime"
	}
	return "a value of another kind"
}

// shownValue is a value for a message: numbers and booleans as they
// are; strings are not shown, since a config string may hold a secret
// (from ${VAR}).
func shownValue(v any) string {
	switch v.(type) {
	case string:
		return "another string"
	case int64, int, float64, bool:
		return formatValue(v)
	}
	return kindOf(v)
}

func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return kindOf(v)
}
