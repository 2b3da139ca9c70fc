package consumer

import (
	"slices"
	"strings"
	"sync/atomic"

	"github.com/moongate/moongate/core/config"
)

// Registry holds the consumers of one configuration and their
// credentials. It is immutable once built and safe for concurrent use.
//
// The consumers are kept by name, as the anonymous consumer of steps'
// anonymous option and as authenticated by a session cookie; their
// credentials are kept by kind, in the index of each registered kind
// (RegisterCredential).
//
// A registry may hold a million consumers: it keeps each once, as an
// Owner in one slice (groups shared between consumers that have the same
// ones), found by name through one map, and makes the Consumer a lookup
// returns the first time it is asked for.
type Registry struct {
	owners  []Owner           // in configuration order
	byName  map[string]uint32 // index in owners
	named   []atomic.Pointer[Consumer]
	session []atomic.Pointer[Consumer]
	indexes map[string]Index // by kind's key
}

// New builds the registry of cfg.Consumers, whose names and groups
// core/config checked: every registered kind of credential gets an index,
// and each consumer's credentials go to the index of their kind. A key of
// a consumer that no kind was registered under, and the problems the
// indexes find (a key given twice, a PEM key that does not parse), are
// returned as config.Problems, in file order, without the secrets.
func New(cfg *config.Config) (*Registry, error) {
	n := len(cfg.Consumers)
	r := &Registry{
		owners:  make([]Owner, n),
		byName:  make(map[string]uint32, n),
		named:   make([]atomic.Pointer[Consumer], n),
		session: make([]atomic.Pointer[Consumer], n),
		indexes: map[string]Index{},
	}
	kinds.Each(func(key string, k kind) { r.indexes[key] = k.makeIndex() })
	var problems config.Problems
	groups := map[string][]string{} // one slice for every consumer with the same groups
	for i := range cfg.Consumers {
		cs := &cfg.Consumers[i]
		owner := &r.owners[i]
		*owner = Owner{Name: cs.Name, Groups: sharedGroups(groups, cs.Groups)}
		if _, dup := r.byName[cs.Name]; !dup { // core/config reports duplicates
			r.byName[cs.Name] = uint32(i)
		}
		for _, key := range cs.Credentials.Keys() {
			idx, ok := r.indexes[key]
			if !ok {
				problems = append(problems, config.AsProblems(unknownKey(cs.Credentials, key))...)
				continue
			}
			if err := idx.Add(owner, cs.Credentials.Only(key)); err != nil {
				problems = append(problems, config.AsProblems(err)...)
			}
		}
	}
	for _, key := range kinds.Names() {
		if f, ok := r.indexes[key].(Finisher); ok {
			if err := f.Finish(); err != nil {
				return nil, err
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems.Dedupe()
	}
	return r, nil
}

// sharedGroups returns groups as a slice shared by every consumer with
// the same groups, in the same order; nil for none.
func sharedGroups(seen map[string][]string, groups []string) []string {
	if len(groups) == 0 {
		return nil
	}
	key := strings.Join(groups, ",") // names hold no comma (core/config)
	if g, ok := seen[key]; ok {
		return g
	}
	g := slices.Clone(groups)
	seen[key] = g
	return g
}

// unknownKey is the problem of a key of a consumer that no kind of
// credential was registered under, with the closest known key as a hint.
func unknownKey(t config.Table, key string) error {
	reason := "unknown key"
	if s := config.Suggest(key, append([]string{"name", "groups"}, kinds.Names()...)); s != "" {
		reason += ` (did you mean "` + s + `"?)`
	}
	return t.Problem(key, reason)
}

// Empty returns a registry without consumers, for plugins built without
// a configuration (in tests).
func Empty() *Registry { return empty }

var empty, _ = New(&config.Config{})

// Consumer returns the consumer called name (CredentialID ""), nil if
// there is none.
func (r *Registry) Consumer(name string) *Consumer {
	i, ok := r.byName[name]
	if !ok {
		return nil
	}
	return r.made(&r.named[i], i, "")
}

// ConsumerBytes is Consumer for a name in a []byte, without allocating.
func (r *Registry) ConsumerBytes(name []byte) *Consumer {
	i, ok := r.byName[string(name)]
	if !ok {
		return nil
	}
	return r.made(&r.named[i], i, "")
}

// Anonymous returns the consumer called name marked Anonymous, for the
// anonymous option of authentication steps; nil if there is none. Each
// call makes a new one: steps ask when they are built.
func (r *Registry) Anonymous(name string) *Consumer {
	i, ok := r.byName[name]
	if !ok {
		return nil
	}
	o := &r.owners[i]
	return &Consumer{Name: o.Name, Groups: o.Groups, Anonymous: true}
}

// Session returns the consumer called name as authenticated by a session
// cookie (CredentialID "<name>:session"), nil if there is none.
func (r *Registry) Session(name []byte) *Consumer {
	i, ok := r.byName[string(name)]
	if !ok {
		return nil
	}
	return r.made(&r.session[i], i, ":session")
}

// made returns the Consumer in slot for owner i, making it the first
// time, with CredentialID the owner's name followed by suffix ("" for
// none). Every later call returns the same one: requests allocate nothing.
func (r *Registry) made(slot *atomic.Pointer[Consumer], i uint32, suffix string) *Consumer {
	if c := slot.Load(); c != nil {
		return c
	}
	o := &r.owners[i]
	id := ""
	if suffix != "" {
		id = o.Name + suffix
	}
	c := o.Consumer(id)
	if slot.CompareAndSwap(nil, c) {
		return c
	}
	return slot.Load()
}
