package config

import (
	"os"
	"reflect"
	"sort"
)

// Table is a plugin's TOML table ([plugins.config] or [routes.plugins.config]),
// kept undecoded until the plugin's factory decodes it into its own struct.
// The zero Table is an empty table.
type Table struct {
	path string
	raw  map[string]any
	dec  *decoder
}

// Path returns the table's key path, e.g. routes[0].plugins[1].config.
func (t Table) Path() string { return t.path }

// Empty reports whether the table has no keys.
func (t Table) Empty() bool { return len(t.raw) == 0 }

// Decode stores the table into v, a pointer to the plugin's config struct
// (fields tagged `toml:"name"`), with the same strict rules as the rest of
// the file: unknown keys and wrong types are errors naming the key path and
// line, and "${VAR}" references are expanded. Fill v with defaults before
// calling Decode: keys absent from the table leave fields as they are.
// A string field tagged `toml:"name,path"` is a file path: once decoded
// (or left at its default), a relative one is resolved against the
// folder of the configuration file (see ResolvePath).
func (t Table) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("config: Table.Decode needs a non-nil pointer")
	}
	var file string
	if t.dec != nil {
		file = t.dec.rep.file
		defer t.dec.seen.record(t.path, v)
	}
	if len(t.raw) > 0 {
		rep := &reporter{env: &envValues{}}
		d := &decoder{rep: rep, lookup: nil}
		if t.dec != nil {
			rep.file, rep.lines, rep.env = t.dec.rep.file, t.dec.rep.lines, t.dec.rep.env
			d.lookup, d.seen = t.dec.lookup, t.dec.seen
		} else {
			d = newDecoder(rep)
		}
		d.decode(t.path, t.raw, rv.Elem())
		if len(rep.list) > 0 {
			return rep.list.sorted()
		}
	}
	// Defaults the caller set are paths too.
	resolvePaths(file, rv.Elem())
	return nil
}

// Raw returns the table as plain Go values (string, int64, float64, bool,
// time.Time, []any, map[string]any) with "${VAR}" references expanded, for
// consumers such as scripts that take the table as it is. It reports
// missing environment variables like Decode does.
func (t Table) Raw() (map[string]any, error) {
	if len(t.raw) == 0 {
		return map[string]any{}, nil
	}
	var out map[string]any
	if err := t.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// Keys returns the table's top-level keys, sorted.
func (t Table) Keys() []string { return sortedKeys(t.raw) }

// Only returns the part of t that holds key alone (an empty table when t
// has no such key), at t's path: for a table whose keys several owners
// decode, each its own, such as a consumer's credentials.
func (t Table) Only(key string) Table {
	v, ok := t.raw[key]
	if !ok {
		return Table{path: t.path, dec: t.dec}
	}
	if len(t.raw) == 1 {
		return t // key alone already (most consumers have one kind of credential)
	}
	return Table{path: t.path, raw: map[string]any{key: v}, dec: t.dec}
}

// Problem returns a problem located at key inside the table, for plugins
// that check their decoded values: return t.Problem("burst", "must be at
// least 1, got 0").
func (t Table) Problem(key, reason string) error {
	p := childPath(t.path, key)
	if key == "" {
		p = t.path
	}
	pr := Problem{Key: p, Reason: reason}
	if t.dec != nil {
		pr.File, pr.Line, pr.Reason = t.dec.rep.file, t.dec.rep.lines.line(p), t.dec.rep.env.redact(reason)
	}
	return pr
}

// NewTable returns a Table holding raw, for tests and for plugins built
// from Go code rather than a file.
func NewTable(path string, raw map[string]any) Table {
	return Table{path: path, raw: raw}
}

// ProbeTable returns an empty Table at path that calls seen with every
// value it is decoded into: given to a plugin's factory, it tells the
// type of the plugin's config struct, with the defaults the factory set
// (the JSON Schema of the configuration is made this way).
func ProbeTable(path string, seen func(v any)) Table {
	rep := &reporter{env: &envValues{}}
	return Table{path: path, dec: &decoder{rep: rep, lookup: os.LookupEnv,
		seen: &decodeLog{f: func(_ string, v any) { seen(v) }}}}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
