package aiproxy

import (
	"math/rand/v2"
	"strings"
)

// target is one place a model's requests may go.
type target struct {
	p *provider
	// model is the provider's model name; "" sends the client's.
	model  string
	weight int
}

// modelEntry is one entry of the models table.
type modelEntry struct {
	name     string // as configured: a name or a pattern
	targets  []target
	fallback []target
	weights  int // sum of the targets' weights
}

// modelTable finds the entry of the model a client asks for: by name or
// alias, else by the first pattern that matches, in configuration order.
type modelTable struct {
	exact    map[string]*modelEntry
	patterns []*modelEntry
	// listed are the names and aliases (not patterns), for GET /v1/models.
	listed []string
}

func newModelTable(cfg []ModelConfig, providers map[string]*provider) *modelTable {
	t := &modelTable{exact: map[string]*modelEntry{}}
	for i := range cfg {
		mc := &cfg[i]
		e := &modelEntry{name: mc.Name}
		pattern := strings.Contains(mc.Name, "*")
		conv := func(list []TargetConfig) []target {
			var out []target
			for _, tc := range list {
				m := tc.Model
				if m == "" && !pattern {
					// An alias is sent as the entry's own name.
					m = mc.Name
				}
				out = append(out, target{p: providers[tc.Provider], model: m, weight: tc.Weight})
			}
			return out
		}
		e.targets, e.fallback = conv(mc.Targets), conv(mc.Fallback)
		for _, tg := range e.targets {
			e.weights += tg.weight
		}
		for _, n := range append([]string{mc.Name}, mc.Aliases...) {
			if strings.Contains(n, "*") {
				t.patterns = append(t.patterns, &modelEntry{name: n, targets: e.targets,
					fallback: e.fallback, weights: e.weights})
				continue
			}
			t.exact[n] = e
			t.listed = append(t.listed, n)
		}
	}
	return t
}

// lookup returns the entry serving model, nil when none does.
func (t *modelTable) lookup(model string) *modelEntry {
	if e, ok := t.exact[model]; ok {
		return e
	}
	for _, e := range t.patterns {
		if globMatch(e.name, model) {
			return e
		}
	}
	return nil
}

// plan appends to dst the targets to try, in order: one of the targets
// picked by weight, the other targets in configuration order, then the
// fallbacks.
func (e *modelEntry) plan(dst []target) []target {
	first := 0
	if len(e.targets) > 1 {
		r := rand.IntN(e.weights)
		for i, tg := range e.targets {
			if r < tg.weight {
				first = i
				break
			}
			r -= tg.weight
		}
	}
	dst = append(dst, e.targets[first])
	for i, tg := range e.targets {
		if i != first {
			dst = append(dst, tg)
		}
	}
	return append(dst, e.fallback...)
}

// globMatch reports whether s matches pattern, where "*" matches any
// text (possibly empty) and every other character itself.
func globMatch(pattern, s string) bool {
	// Iterative matching with one backtrack point: linear in practice,
	// O(len(pattern)·len(s)) at worst.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
