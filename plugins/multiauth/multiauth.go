package multiauth

import (
	"errors"
	"strconv"

	"github.com/moongate/moongate/core/authstep"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
)

func init() { plugin.Register("multi-auth", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Mode is "any" or "all". Default "any".
	Mode string `toml:"mode"`
	// Anonymous names the consumer for requests without any credential.
	// Default "": 401.
	Anonymous string `toml:"anonymous"`
	// Steps are the methods, in order: name and config like any step.
	Steps []config.Step `toml:"steps"`
}

// Plugin is an instance of multi-auth.
type Plugin struct {
	all        bool
	methods    []*authstep.Auth
	challenges []string
	anonymous  *consumer.Consumer
	identity   *authstep.Identity
	responders []plugin.ResponseHandler // methods with a response phase (session re-sealing)
}

var (
	_ plugin.RequestHandler  = (*Plugin)(nil)
	_ plugin.ResponseHandler = (*Plugin)(nil)
	_ plugin.Cleaner         = (*Plugin)(nil)

	errMismatch = plugin.NewError(401, "credentials identify different consumers")
)

// New builds the plugin and its methods from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{Mode: "any"}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Mode != "any" && cfg.Mode != "all" {
		return nil, spec.Config.Problem("mode", `must be "any" or "all", got `+strconv.Quote(cfg.Mode))
	}
	if len(cfg.Steps) == 0 {
		return nil, spec.Config.Problem("steps", "needs at least one authentication step")
	}
	p := &Plugin{all: cfg.Mode == "all"}
	fail := func(err error) (any, error) {
		p.Cleanup()
		return nil, err
	}
	for i := range cfg.Steps {
		st := &cfg.Steps[i]
		key := "steps[" + strconv.Itoa(i) + "]"
		if st.Script != "" || st.Name == "" {
			return fail(spec.Config.Problem(key+".name", "needs the name of an authentication plugin (scripts cannot be methods)"))
		}
		if !st.Enabled {
			continue
		}
		f, ok := plugin.Lookup(st.Name)
		if !ok {
			return fail(spec.Config.Problem(key+".name", "unknown plugin "+strconv.Quote(st.Name)))
		}
		inst, err := f(plugin.Spec{Name: st.Name, Config: st.Config, Step: *st, Path: spec.Path + ".config." + key,
			Route: spec.Route, Env: spec.Env})
		if err != nil {
			return fail(err)
		}
		step, ok := inst.(interface{ AuthStep() *authstep.Auth })
		if !ok {
			if cl, ok := inst.(plugin.Cleaner); ok {
				cl.Cleanup()
			}
			return fail(spec.Config.Problem(key+".name", strconv.Quote(st.Name)+" is not an authentication plugin"))
		}
		m := step.AuthStep()
		p.methods = append(p.methods, m)
		if rh, ok := inst.(plugin.ResponseHandler); ok {
			p.responders = append(p.responders, rh)
		}
		if m.Anonymous() != nil {
			return fail(spec.Config.Problem(key+".config.anonymous", "set anonymous on the multi-auth step, not on its methods"))
		}
		p.challenges = append(p.challenges, m.Challenge())
	}
	if len(p.methods) == 0 {
		return fail(spec.Config.Problem("steps", "every method is disabled"))
	}
	if cfg.Anonymous != "" {
		p.anonymous = spec.Consumers().Anonymous(cfg.Anonymous)
		if p.anonymous == nil {
			return fail(spec.Config.Problem("anonymous", "unknown consumer "+strconv.Quote(cfg.Anonymous)+" (define it in [[consumers]])"))
		}
	}
	// Each method's own headers (jwt claims) are removed by its Identity
	// in OnRequest; this one sets the consumer's.
	p.identity = authstep.NewIdentity(authConfig(spec))
	return p, nil
}

func authConfig(spec plugin.Spec) config.Auth {
	if gc := spec.Settings(); gc != nil {
		return gc.Auth
	}
	return config.DefaultAuth()
}

// Cleanup releases the methods' resources.
func (p *Plugin) Cleanup() error {
	var errs []error
	for _, m := range p.methods {
		errs = append(errs, m.Cleanup())
	}
	return errors.Join(errs...)
}

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	for _, m := range p.methods {
		m.Identity().StripFor(c)
	}
	var cons *consumer.Consumer
	var refusal error // the first error other than ErrNoCredentials
	missing := 0      // methods that found no credentials
	for _, m := range p.methods {
		got, err := m.Authenticate(c)
		switch {
		case err == nil:
			if !p.all {
				return p.set(c, got)
			}
			if cons == nil {
				cons = got
			} else if got.Name != cons.Name {
				return authstep.Fail(c, errMismatch, p.challenges...)
			}
		case err == authstep.ErrNoCredentials:
			missing++
		case refusal == nil:
			refusal = err
			if p.all {
				return authstep.Fail(c, err, p.challenges...)
			}
		}
	}
	switch {
	case refusal != nil:
		return authstep.Fail(c, refusal, p.challenges...)
	case missing == len(p.methods) && p.anonymous != nil:
		return p.set(c, p.anonymous)
	case missing > 0:
		return authstep.Fail(c, authstep.ErrNoCredentials, p.challenges...)
	}
	return p.set(c, cons)
}

func (p *Plugin) set(c *plugin.Context, cons *consumer.Consumer) error {
	c.Consumer = cons
	p.identity.Set(c, cons)
	return nil
}

// OnResponse implements plugin.ResponseHandler: the methods' own response
// phases run (a session method re-seals the cookie it accepted).
func (p *Plugin) OnResponse(c *plugin.Context) error {
	for _, r := range p.responders {
		if err := r.OnResponse(c); err != nil {
			return err
		}
	}
	return nil
}
