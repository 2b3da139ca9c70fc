package chain

import (
	"errors"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
)

// Builder builds the chains of one configuration. Global steps are built
// once and shared by every route that keeps them.
type Builder struct {
	env      *plugin.Env
	obs      Observer
	steps    []config.Step // the global steps' definitions
	global   []*step
	built    []any // every instance, for Cleanup
	problems config.Problems
}

// Observe makes o the observer of the chains built from now on (see
// Observer); the default is NopObserver.
func (b *Builder) Observe(o Observer) { b.obs = o }

// NewBuilder builds the named rate limits of env.Config ([[rate_limits]],
// into env.Limits: steps built next find them there) and its global
// chain.
func NewBuilder(env *plugin.Env) *Builder {
	b := &Builder{env: env, obs: NopObserver{}, steps: env.Config.Plugins}
	b.buildLimits()
	if env.Config.Log.Access != "" && !hasStep(b.steps, AccessLog) {
		// [log] access: an access-log step ends the global chain. It
		// reads its settings from [log], where its problems are found.
		b.steps = append(b.steps[:len(b.steps):len(b.steps)], config.Step{Name: AccessLog, Enabled: true, OnError: "fail"})
	}
	for i := range b.steps {
		// One entry per global step, nil when disabled, so that indexes
		// match the configuration's in Chain.
		path := "plugins[" + strconv.Itoa(i) + "]"
		if i >= len(env.Config.Plugins) {
			path = "log"
		}
		b.global = append(b.global, b.build(&b.steps[i], path, ""))
	}
	return b
}

// AccessLog is the name of the plugin [log] access adds to the global
// chain.
const AccessLog = "access-log"

func hasStep(steps []config.Step, name string) bool {
	for i := range steps {
		if steps[i].Name == name {
			return true
		}
	}
	return false
}

// buildLimits builds the entries of [[rate_limits]] with the factory the
// rate-limit plugin registered (plugin.RegisterLimits).
func (b *Builder) buildLimits() {
	cfg := b.env.Config
	if len(cfg.RateLimits) == 0 {
		return
	}
	f := plugin.Limits()
	b.env.Limits = map[string]ratelimit.Limiter{}
	for i := range cfg.RateLimits {
		e := &cfg.RateLimits[i]
		path := "rate_limits[" + strconv.Itoa(i) + "]"
		if f == nil {
			b.problems = append(b.problems, cfg.Problem(path, "no plugin of this build counts named rate limits (rate-limit is not linked in)"))
			return
		}
		if e.Name == "" || b.env.Limits[e.Name] != nil {
			continue // config.Parse reports it
		}
		l, err := f(plugin.Spec{Name: e.Name, Config: e.Config, Path: path, Env: b.env})
		if err != nil {
			b.problems = append(b.problems, config.AsProblems(err)...)
			continue
		}
		b.env.Limits[e.Name] = l
		b.built = append(b.built, l)
	}
}

// Chain builds the chain of route i: the global steps, where a route step
// with the same name replaces a global step in place (enabled = false
// removes it for this route), then the route's other steps in order.
func (b *Builder) Chain(i int) *Chain {
	r := &b.env.Config.Routes[i]
	steps := make([]*step, len(b.global))
	copy(steps, b.global)
	ids := make([]string, len(b.steps))
	for j := range b.steps {
		ids[j] = b.steps[j].ID()
	}
	for j := range r.Plugins {
		st := &r.Plugins[j]
		s := b.build(st, "routes["+strconv.Itoa(i)+"].plugins["+strconv.Itoa(j)+"]", r.Name)
		replaced := false
		for k, id := range ids {
			if id != "" && id == st.ID() {
				steps[k] = s
				replaced = true
				break
			}
		}
		if !replaced && s != nil {
			steps = append(steps, s)
			ids = append(ids, st.ID())
		}
	}
	kept := steps[:0]
	for _, s := range steps {
		if s != nil {
			kept = append(kept, s)
		}
	}
	return newChain(r.Name, kept, b.env.Logger, b.obs)
}

// build builds one step; nil for a disabled step or one that failed (the
// failure is recorded).
func (b *Builder) build(st *config.Step, path, route string) *step {
	var f plugin.Factory
	var ok bool
	label := st.Name
	if st.Script != "" {
		label = st.Script
		f, ok = plugin.ScriptEngine(st.Script)
		if !ok {
			b.problem(path+".script", "no script engine for "+strconv.Quote(st.Script)+" (scripts end in .lua)")
			return nil
		}
	} else {
		f, ok = plugin.Lookup(st.Name)
		if !ok && path == "log" {
			b.problem("log.access", "the access-log plugin is not built into this binary")
			return nil
		}
		if !ok {
			names := plugin.Names()
			hint := "known: " + strings.Join(names, ", ")
			if s := config.Suggest(st.Name, names); s != "" {
				hint = "did you mean " + strconv.Quote(s) + "?"
			}
			b.problem(path+".name", "unknown plugin "+strconv.Quote(st.Name)+" ("+hint+")")
			return nil
		}
	}
	if !st.Enabled {
		return nil
	}
	inst, err := f(plugin.Spec{Name: label, Config: st.Config, Step: *st, Path: path, Route: route, Env: b.env})
	merrs := b.env.Metrics.TakeErrors()
	if err != nil {
		var ps config.Problems
		var p config.Problem
		switch {
		case errors.As(err, &ps):
			b.problems = append(b.problems, ps...)
		case errors.As(err, &p):
			b.problems = append(b.problems, p)
		default:
			b.problem(path, "plugin "+strconv.Quote(label)+": "+err.Error())
		}
		return nil
	}
	if len(merrs) > 0 {
		// A metric of the step has a bad name, or one another step uses
		// for a metric of another kind.
		for _, e := range merrs {
			b.problem(path, "plugin "+strconv.Quote(label)+": "+e.Error())
		}
		Cleanup([]any{inst})
		return nil
	}
	s := &step{id: st.ID(), label: label, instance: inst, cont: st.OnError == "continue"}
	s.req, _ = inst.(plugin.RequestHandler)
	s.resp, _ = inst.(plugin.ResponseHandler)
	s.log, _ = inst.(plugin.LogHandler)
	if f, ok := inst.(plugin.PhaseFilter); ok {
		if !f.Handles(plugin.PhaseRequest) {
			s.req = nil
		}
		if !f.Handles(plugin.PhaseResponse) {
			s.resp = nil
		}
		if !f.Handles(plugin.PhaseLog) {
			s.log = nil
		}
	}
	if s.log != nil {
		s.capture, _ = inst.(plugin.LogCapturer)
	}
	if s.req == nil && s.resp == nil && s.log == nil {
		b.problem(path, "plugin "+strconv.Quote(label)+" implements no phase")
		return nil
	}
	b.built = append(b.built, inst)
	return s
}

func (b *Builder) problem(path, reason string) {
	b.problems = append(b.problems, b.env.Config.Problem(path, reason))
}

// Problems returns what went wrong building steps.
func (b *Builder) Problems() config.Problems { return b.problems }

// Instances returns every plugin instance built, for Cleanup.
func (b *Builder) Instances() []any { return b.built }

// Cleanup calls Cleanup on every instance that has it and returns the
// errors joined.
func Cleanup(instances []any) error {
	var errs []error
	for _, inst := range instances {
		if cl, ok := inst.(plugin.Cleaner); ok {
			if err := cl.Cleanup(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
