package registry

import (
	"runtime"
	"sort"
	"strconv"
	"sync"
)

// Registry maps names to values of type T. The zero Registry is not
// usable: make one with New. It is safe for concurrent use.
type Registry[T any] struct {
	what    string // what a name names, for panics: "plugin", "balancer"
	mu      sync.RWMutex
	byName  map[string]int // index into entries
	entries []entry[T]     // in registration order
}

type entry[T any] struct {
	name string
	v    T
	at   string // file:line of the registration
}

// New returns an empty registry of what ("plugin", "balancer", ...): the
// word panics use to name the thing registered twice.
func New[T any](what string) *Registry[T] {
	return &Registry[T]{what: what, byName: map[string]int{}}
}

// Register adds v under name. It is meant to be called by a package's
// own registration function (plugin.Register, upstream.RegisterBalancer),
// itself called from init: the place a panic names is the caller of
// that function. An empty name, or a name registered before, panics with
// both places: `registry: plugin "cache" registered twice: at
// plugins/cache/cache.go:24 and at plugins/other/other.go:12`.
func (r *Registry[T]) Register(name string, v T) {
	at := caller(2)
	if name == "" {
		panic("registry: " + r.what + " with an empty name, at " + at)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if i, dup := r.byName[name]; dup {
		panic("registry: " + r.what + " " + strconv.Quote(name) + " registered twice: at " + r.entries[i].at + " and at " + at)
	}
	r.byName[name] = len(r.entries)
	r.entries = append(r.entries, entry[T]{name: name, v: v, at: at})
}

// Lookup returns the value registered under name.
func (r *Registry[T]) Lookup(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	i, ok := r.byName[name]
	if !ok {
		var zero T
		return zero, false
	}
	return r.entries[i].v, true
}

// Names returns the registered names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, len(r.entries))
	for i, e := range r.entries {
		out[i] = e.name
	}
	sort.Strings(out)
	return out
}

// Each calls f with every name and value, in the order they were
// registered. f must not register in r.
func (r *Registry[T]) Each(f func(name string, v T)) {
	r.mu.RLock()
	entries := r.entries[:len(r.entries):len(r.entries)]
	r.mu.RUnlock()
	for _, e := range entries {
		f(e.name, e.v)
	}
}

// Len returns the number of registered names.
func (r *Registry[T]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.entries)
}

// caller returns "file:line" of the function skip frames above the
// caller of caller.
func caller(skip int) string {
	_, file, line, ok := runtime.Caller(skip + 1)
	if !ok {
		return "an unknown place"
	}
	return file + ":" + strconv.Itoa(line)
}
