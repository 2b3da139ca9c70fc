package plugin_test

import (
	"fmt"
	"strings"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
)

// Config is the hello step's [config] table.
type Config struct {
	Greeting string `toml:"greeting"` // default "hello"
}

// Hello refuses callers without an X-Name header, tells the upstream whom
// to greet, and greets the client on the way back.
type Hello struct{ greeting []byte }

var (
	_ plugin.RequestHandler  = (*Hello)(nil)
	_ plugin.ResponseHandler = (*Hello)(nil)

	errNoName = plugin.NewError(400, "X-Name is required")
)

func init() { plugin.Register("hello", NewHello) }

// NewHello builds a step from its configuration, once per load.
func NewHello(spec plugin.Spec) (any, error) {
	cfg := Config{Greeting: "hello"}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Greeting == "" {
		return nil, spec.Config.Problem("greeting", "must not be empty")
	}
	return &Hello{greeting: []byte(cfg.Greeting)}, nil
}

// OnRequest implements plugin.RequestHandler.
func (h *Hello) OnRequest(c *plugin.Context) error {
	name := c.Request.Header.Peek("X-Name")
	if len(name) == 0 {
		return errNoName
	}
	b := append(append(append(c.Scratch(), h.greeting...), ", "...), name...)
	c.Request.Header.SetBytesV("X-Greeting", b)
	c.KeepScratch(b)
	return nil
}

// OnResponse implements plugin.ResponseHandler.
func (h *Hello) OnResponse(c *plugin.Context) error {
	if c.Response.StatusCode() < 400 {
		c.Response.Header.SetBytesV("X-Greeting", h.greeting)
	}
	return nil
}

// A plugin, registered under the name users write in TOML, built from its
// configuration and served requests by plugintest: a named caller, a
// caller without a name, and a typo in the configuration.
func Example() {
	ch, err := plugintest.Build(`
[[plugins]]
name = "hello"
[plugins.config]
greeting = "good morning"
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ch.Close()
	ch.SetUpstream(plugintest.Reply{Body: "ok"})

	res := ch.Do(plugintest.Request{Header: []string{"X-Name", "Ada"}})
	fmt.Println(res.Status, res.Body)
	fmt.Println("upstream got:", string(res.Sent.Header.Peek("X-Greeting")))
	fmt.Println("client got:", string(res.Response.Header.Peek("X-Greeting")))

	res = ch.Do(plugintest.Request{})
	fmt.Println(res.Status, "stopped:", res.Stopped, strings.TrimSpace(res.Body))

	_, err = plugintest.Build(`
[[plugins]]
name = "hello"
[plugins.config]
greting = "hi"
`)
	fmt.Println(err)
	// Output:
	// 200 ok
	// upstream got: good morning, Ada
	// client got: good morning
	// 400 stopped: true {"error":"X-Name is required","status":400}
	// test.toml:5: plugins[0].config.greting: unknown key (did you mean "greeting"?)
}
