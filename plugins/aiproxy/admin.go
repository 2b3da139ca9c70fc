package aiproxy

import (
	"time"

	"github.com/moongate/moongate/core/plugin"
)

// The admin API shows the state of the provider keys and the token
// counters:
//
//	GET /ai/keys   every ai-proxy step of the configuration being served,
//	               its providers and their keys (index, label, state:
//	               active, resting until, disabled by 401/403), never a
//	               key's value
//	GET /ai/usage  token counters by route, consumer, model and provider
func init() {
	plugin.HandleAdmin("GET", "/ai/keys", adminKeys)
	plugin.HandleAdmin("GET", "/ai/usage", adminUsage)
}

// instances are the ai-proxy steps built and not yet cleaned up: those
// of the configuration being served, and for a while after a reload
// those of the one it replaced.
var instances plugin.LiveSteps[*Plugin]

// StepKeys is the key state of one ai-proxy step.
type StepKeys struct {
	Route     string         `json:"route,omitempty"`
	Step      string         `json:"step"`
	Providers []ProviderKeys `json:"providers"`
}

// ProviderKeys is the key state of one provider.
type ProviderKeys struct {
	Name string     `json:"name"`
	Type string     `json:"type"`
	Keys []KeyState `json:"keys"`
}

// Keys returns the key state of every ai-proxy step built from the
// configuration being served (all of them when serving is nil), for the
// admin API and metrics.
func Keys(serving any) []StepKeys {
	now := time.Now()
	out := []StepKeys{}
	for _, p := range instances.Steps() {
		if serving != nil && any(p.settings) != serving {
			continue
		}
		sk := StepKeys{Route: p.route, Step: p.path, Providers: []ProviderKeys{}}
		for _, pr := range p.providers {
			pk := ProviderKeys{Name: pr.name, Type: pr.typ, Keys: []KeyState{}}
			for _, k := range pr.keys.keys {
				pk.Keys = append(pk.Keys, k.state(now))
			}
			sk.Providers = append(sk.Providers, pk)
		}
		out = append(out, sk)
	}
	return out
}

func adminKeys(r *plugin.AdminRequest) {
	var serving any
	if r.Config != nil {
		serving = r.Config
	}
	r.JSON(200, map[string]any{"steps": Keys(serving)})
}

// usageRow is one line of GET /ai/usage.
type usageRow struct {
	UsageKey
	UsageTotals
}

func adminUsage(r *plugin.AdminRequest) {
	rows := []usageRow{}
	VisitUsage(func(k UsageKey, t UsageTotals) { rows = append(rows, usageRow{k, t}) })
	r.JSON(200, map[string]any{"usage": rows})
}
