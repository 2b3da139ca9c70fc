package gateway_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// logStep logs from its request phase, through the context's logger.
type logStep struct{}

func (logStep) OnRequest(c *plugin.Context) error {
	c.Logger().Info("hello from a step")
	return nil
}

func init() {
	plugin.Register("gateway-test-log", func(plugin.Spec) (any, error) { return logStep{}, nil })
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStepLogsNameRouteAndStep: what a global step logs through
// Context.Logger names the route of the request and the step, with no
// work of the plugin's own.
func TestStepLogsNameRouteAndStep(t *testing.T) {
	up := gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") })
	cfg, err := config.Parse("steplog.toml", []byte(`
[admin]
listen = ""
[[plugins]]
name = "gateway-test-log"
[[upstreams]]
name = "u"
targets = [{ url = "`+up.URL+`" }]
[[routes]]
name = "api"
paths = ["/"]
upstream = "u"
`))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	req, fc := benchRequest()
	serveOnce(t, g, req, fc)
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "hello from a step") {
			line = l
		}
	}
	for _, want := range []string{"route=api", "step=gateway-test-log"} {
		if !strings.Contains(line, want) {
			t.Errorf("the step's log line lacks %q: %q", want, line)
		}
	}
}
