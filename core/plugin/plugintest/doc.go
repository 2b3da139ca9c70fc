// Package plugintest runs plugins without a gateway, so that a step's
// unit tests are cheap: no listener, no upstream server, no sockets.
//
// Build (or New, in a test) builds a chain of steps from configuration
// written as in moongate.toml, through core/config and the chain builder
// the gateway uses, so a bad key fails with the message users get,
// `test.toml:4: plugins[0].config.greting: unknown key (did you mean
// "greeting"?)`. Chain.Do serves one Request through it (the request
// phase, a synthetic upstream, the response phase, the log phase) and
// returns a Result: the response, whether a step stopped the chain, the
// request as the upstream received it, the consumer, the values set, and
// the lines logged.
//
//	ch := plugintest.New(t, `
//	[[plugins]]
//	name = "headers"
//	[plugins.config.request]
//	set = { "X-Gateway" = "moongate" }
//	`)
//	ch.SetUpstream(plugintest.Reply{Status: 200, Body: "ok"})
//	res := ch.Do(plugintest.Request{Method: "POST", URL: "/orders", Body: "{}"})
//	// res.Status == 200, res.Stopped == false,
//	// string(res.Sent.Header.Peek("X-Gateway")) == "moongate"
//
// ContextFor builds a lone Context for a Request, outside any chain, for
// calling a step's handlers directly (benchmarks do, with NoAllocs as
// their zero-allocation guard). NewChain, Chain.Context, Serve and Finish
// are the lower level Do is made of; the Lua harness behind `moongate
// script run` and `moongate script test` uses them.
//
// What plugintest does not do is the gateway's work before the chain:
// reading and limiting the request, normalizing its path, routing,
// removing hop-by-hop and forged identity headers. End-to-end tests
// (core/gateway/gatewaytest) cover those.
package plugintest
