package multiauth

import (
	"errors"
	"strconv"

	"github.com/moongate/moongate/core/chain"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
)

func init() { chain.Register("multi-auth", New) }

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
	methods    []*consumer.Auth
	challenges []string
	anonymous  *chain.Consumer
	identity   *consumer.Identity
	responders []chain.ResponseHandler // methods with a response phase (session re-sealing)
}

var (
	_ chain.RequestHandler  = (*Plugin)(nil)
	_ chain.ResponseHandler = (*Plugin)(nil)
	_ chain.Cleaner         = (*Plugin)(nil)

	errMismatch = chain.NewError(401, "credentials identify different consumers")
)

// New builds the plugin and its methods from its step.
func New(spec chain.Spec) (any, error) {
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
		f, ok := chain.Lookup(st.Name)
		if !ok {
			return fail(spec.Config.Problem(key+".name", "unknown plugin "+strconv.Quote(st.Name)))
		}
		inst, err := f(chain.Spec{Name: st.Name, Config: st.Config, Step: *st, Path: spec.Path + ".config." + key,
			Route: spec.Route, Env: spec.Env})
		if err != nil {
			return fail(err)
		}
		step, ok := inst.(interface{ AuthStep() *consumer.Auth })
		if !ok {
			if cl, ok := inst.(chain.Cleaner); ok {
				cl.Cleanup()
			}
			return fail(spec.Config.Problem(key+".name", strconv.Quote(st.Name)+" is not an authentication plugin"))
		}
		m := step.AuthStep()
		p.methods = append(p.methods, m)
		if rh, ok := inst.(chain.ResponseHandler); ok {
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
		p.anonymous = consumer.Of(spec.Env).Anonymous(cfg.Anonymous)
		if p.anonymous == nil {
			return fail(spec.Config.Problem("anonymous", "unknown consumer "+strconv.Quote(cfg.Anonymous)+" (define it in [[consumers]])"))
		}
	}
	// Each method's own headers (jwt claims) are removed by its Identity
	// in OnRequest; this one sets the consumer's.
	p.identity = consumer.NewIdentity(authConfig(spec))
	return p, nil
}

func authConfig(spec chain.Spec) config.Auth {
	if spec.Env != nil && spec.Env.Config != nil {
		return spec.Env.Config.Auth
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

// OnRequest implements chain.RequestHandler.
func (p *Plugin) OnRequest(c *chain.Context) error {
	for _, m := range p.methods {
		m.Identity().StripFor(c)
	}
	var cons *chain.Consumer
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
				return consumer.Fail(c, errMismatch, p.challenges...)
			}
		case err == consumer.ErrNoCredentials:
			missing++
		case refusal == nil:
			refusal = err
			if p.all {
				return consumer.Fail(c, err, p.challenges...)
			}
		}
	}
	switch {
	case refusal != nil:
		return consumer.Fail(c, refusal, p.challenges...)
	case missing == len(p.methods) && p.anonymous != nil:
		return p.set(c, p.anonymous)
	case missing > 0:
		return consumer.Fail(c, consumer.ErrNoCredentials, p.challenges...)
	}
	return p.set(c, cons)
}

func (p *Plugin) set(c *chain.Context, cons *chain.Consumer) error {
	c.Consumer = cons
	p.identity.Set(c, cons)
	return nil
}

// OnResponse implements chain.ResponseHandler: the methods' own response
// phases run (a session method re-seals the cookie it accepted).
func (p *Plugin) OnResponse(c *chain.Context) error {
	for _, r := range p.responders {
		if err := r.OnResponse(c); err != nil {
			return err
		}
	}
	return nil
}
