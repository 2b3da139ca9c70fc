// Package plugin is the contract of moongate's Go plugins: all a plugin
// author needs, and nothing of the engine that runs the chains. It holds
// the request context, the three phase interfaces, the registries
// (plugins, script engines, CLI subcommands, admin endpoints), the
// services a plugin is built with (Spec), and errors.
//
// A request travels like this:
//
//	request phase   steps in order; a step may answer the request itself
//	                (Context.Respond, or an *Error with a 4xx status), which
//	                skips the remaining request steps and the upstream
//	upstream        the route's upstream (Context.UpstreamName) is called
//	response phase  the steps whose request phase ran, in reverse order (the
//	                onion: the first step sees the response last), also for
//	                responses a step produced itself
//	log phase       after the response is written, on a worker goroutine;
//	                never delays the response
//
// Writing a plugin: implement any of RequestHandler, ResponseHandler and
// LogHandler, and register a Factory under the name users write in TOML,
// from init:
//
//	func init() { plugin.Register("hello", NewHello) }
//
// The package's Example is a whole plugin of some thirty lines (its
// config decoded, a request phase and a response phase), built and served
// requests by core/plugin/plugintest; docs/plugins.md walks through
// writing, testing, registering and benchmarking one.
//
// A factory runs once per configuration load, never per request. The
// instance it returns serves many requests at once: per-request state
// belongs in the Context (SetValue), never in the instance.
//
// A plugin imports this package and, at most, small libraries of core
// that know nothing of the engine: core/config (its table and value
// types), core/consumer (the consumers and their credentials),
// core/authstep (what authentication steps share), core/store (the
// shared store's namespaces), core/realip, core/ttlmap, core/httpbytes
// (ASCII case folding, header lists) and core/jsonstr (JSON strings),
// the transformation steps' libraries (core/template, core/jsonedit,
// core/compress, core/jsonschema, core/transformstep), and the limits'
// libraries (core/ratelimit: rate-limit decisions, core/limitkey: who a
// limit counts, core/marks: marks shared through Redis); and
// core/plugin/plugintest in its tests. The process's
// shared Redis client, when the configuration has [redis], comes with the
// Spec (Spec.Redis). The engine itself lives in
// core/internal, where the compiler keeps plugins out; a test in tests/
// checks the rest (make check).
package plugin
