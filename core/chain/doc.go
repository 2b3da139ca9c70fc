// Package chain is what plugins program against: the request context, the
// three phase interfaces, the plugin registry, and the runtime that runs a
// route's chain of steps around the upstream call.
//
// A request travels like this:
//
//	request phase   steps in order; a step may answer the request itself
//	                (Context.Respond, or an *Error with a 4xx status), which
//	                skips the remaining request steps and the upstream
//	upstream        the route's upstream (Context.Upstream) is called
//	response phase  the steps whose request phase ran, in reverse order (the
//	                onion: the first step sees the response last), also for
//	                responses a step produced itself
//	log phase       after the response is written, on a worker goroutine;
//	                never delays the response
//
// Writing a plugin: implement any of RequestHandler, ResponseHandler and
// LogHandler, and register a Factory under the name users write in TOML:
//
//	func init() { chain.Register("hello", New) }
//
//	type Config struct {
//		Greeting string `toml:"greeting"`
//	}
//
//	type Plugin struct{ greeting []byte }
//
//	var _ chain.ResponseHandler = (*Plugin)(nil)
//
//	func New(spec chain.Spec) (any, error) {
//		cfg := Config{Greeting: "hello"}
//		if err := spec.Config.Decode(&cfg); err != nil {
//			return nil, err
//		}
//		return &Plugin{greeting: []byte(cfg.Greeting)}, nil
//	}
//
//	func (p *Plugin) OnResponse(c *chain.Context) error {
//		c.Response.Header.SetBytesV("X-Greeting", p.greeting)
//		return nil
//	}
//
// A factory runs once per configuration load, never per request. The
// instance it returns serves many requests at once: per-request state
// belongs in the Context (SetValue), never in the instance.
package chain
