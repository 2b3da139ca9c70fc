package consumer

import (
	"github.com/moongate/moongate/core/config"
)

// Registry holds the consumers of one configuration and their
// credentials. It is immutable once built and safe for concurrent use.
//
// The consumers are kept by name, as the anonymous consumer of steps'
// anonymous option and as authenticated by a session cookie; their
// credentials are kept by kind, in the index of each registered kind
// (RegisterCredential).
type Registry struct {
	byName    map[string]*Consumer
	anonymous map[string]*Consumer
	session   map[string]*Consumer
	indexes   map[string]Index // by kind's key
}

// New builds the registry of cfg.Consumers, whose names and groups
// core/config checked: every registered kind of credential gets an index,
// and each consumer's credentials go to the index of their kind. A key of
// a consumer that no kind was registered under, and the problems the
// indexes find (a key given twice, a PEM key that does not parse), are
// returned as config.Problems, in file order, without the secrets.
func New(cfg *config.Config) (*Registry, error) {
	r := &Registry{
		byName:    map[string]*Consumer{},
		anonymous: map[string]*Consumer{},
		session:   map[string]*Consumer{},
		indexes:   map[string]Index{},
	}
	kinds.Each(func(key string, k kind) { r.indexes[key] = k.makeIndex() })
	var problems config.Problems
	for i := range cfg.Consumers {
		cs := &cfg.Consumers[i]
		owner := &Owner{Name: cs.Name, Groups: append([]string(nil), cs.Groups...)}
		r.byName[cs.Name] = owner.Consumer("")
		r.anonymous[cs.Name] = &Consumer{Name: cs.Name, Groups: owner.Groups, Anonymous: true}
		r.session[cs.Name] = owner.Consumer(cs.Name + ":session")
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
func (r *Registry) Consumer(name string) *Consumer { return r.byName[name] }

// ConsumerBytes is Consumer for a name in a []byte, without allocating.
func (r *Registry) ConsumerBytes(name []byte) *Consumer { return r.byName[string(name)] }

// Anonymous returns the consumer called name marked Anonymous, for the
// anonymous option of authentication steps; nil if there is none.
func (r *Registry) Anonymous(name string) *Consumer { return r.anonymous[name] }

// Session returns the consumer called name as authenticated by a session
// cookie (CredentialID "<name>:session"), nil if there is none.
func (r *Registry) Session(name []byte) *Consumer { return r.session[string(name)] }
