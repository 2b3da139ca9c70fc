package plugintest_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
)

// The test steps: probe shows what it sees, stop answers 418, limit
// lowers the streamed body limit, log logs in the log phase.
func init() {
	plugin.Register("pt-probe", func(spec plugin.Spec) (any, error) {
		cfg := struct {
			Tag string `toml:"tag"`
		}{Tag: "probe"}
		if err := spec.Config.Decode(&cfg); err != nil {
			return nil, err
		}
		if cfg.Tag == "" {
			return nil, spec.Config.Problem("tag", "must not be empty")
		}
		spec.Logger().Info("probe built", "tag", cfg.Tag)
		return &probe{tag: cfg.Tag}, nil
	})
	plugin.Register("pt-stop", func(plugin.Spec) (any, error) { return stop{}, nil })
	plugin.Register("pt-limit", func(plugin.Spec) (any, error) { return limit{}, nil })
	plugin.Register("pt-log", func(plugin.Spec) (any, error) { return logStep{}, nil })
}

type probe struct{ tag string }

func (p *probe) OnRequest(c *plugin.Context) error {
	body, streamed := c.RequestBody()
	cons := ""
	if c.Consumer != nil {
		cons = c.Consumer.Name
	}
	c.SetValue(p.tag, fmt.Sprintf("%s %s host=%s body=%q streamed=%v client=%s peer=%s consumer=%s id=%s",
		c.Method(), c.Path(), c.Host(), body, streamed, c.ClientIP(), c.RemoteAddr(), cons, c.Params.Get("id")))
	c.Request.Header.Add("X-Seen-By", p.tag)
	return nil
}

func (p *probe) OnResponse(c *plugin.Context) error {
	c.Response.Header.Add("X-Back-Through", p.tag)
	return nil
}

type stop struct{}

func (stop) OnRequest(c *plugin.Context) error {
	c.Respond(418, "text/plain", []byte("short and stout"))
	return nil
}

func (stop) OnResponse(c *plugin.Context) error {
	c.Response.Header.Add("X-Back-Through", "stop")
	return nil
}

type limit struct{}

func (limit) OnRequest(c *plugin.Context) error {
	c.LimitRequestBody(10)
	return nil
}

type logStep struct{}

func (logStep) OnLog(c *plugin.Context) {
	c.LogAttrs(slog.LevelInfo, "served", slog.Int("status", c.Response.StatusCode()))
}

func TestContextFor(t *testing.T) {
	c := plugintest.ContextFor(plugintest.Request{})
	if got := fmt.Sprintf("%s %s %s %s", c.Method(), c.Path(), c.Host(), c.RemoteAddr()); got != "GET / example.com 192.0.2.10" {
		t.Errorf("zero Request: %s", got)
	}
	plugintest.Release(c)

	alice := &consumer.Consumer{Name: "alice"}
	c = plugintest.ContextFor(plugintest.Request{
		Method: "POST", URL: "/users/42?x=1", Host: "api.example.com",
		Header:     []string{"X-Forwarded-For", "203.0.113.9, 10.0.0.7", "X-A", "1", "X-A", "2"},
		Body:       "{}",
		RemoteAddr: "10.0.0.1", TrustedProxies: []string{"10.0.0.0/8"},
		Consumer: alice, Params: map[string]string{"id": "42"},
	})
	defer plugintest.Release(c)
	body, streamed := c.RequestBody()
	checks := []struct{ name, got, want string }{
		{"method", string(c.Method()), "POST"},
		{"path", string(c.Path()), "/users/42"},
		{"query", string(c.Request.URI().QueryString()), "x=1"},
		{"host", string(c.Host()), "api.example.com"},
		{"body", fmt.Sprintf("%s %v", body, streamed), "{} false"},
		{"repeated header", fmt.Sprint(len(c.Request.Header.PeekAll("X-A"))), "2"},
		{"peer", c.RemoteAddr().String(), "10.0.0.1"},
		{"client behind trusted proxy", c.ClientIP().String(), "203.0.113.9"},
		{"param", string(c.Params.Get("id")), "42"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	if c.Consumer != alice {
		t.Errorf("consumer %v", c.Consumer)
	}
	// Without trusted proxies the peer is the client, whatever it claims.
	u := plugintest.ContextFor(plugintest.Request{RemoteAddr: "10.0.0.1:5000", Header: []string{"X-Forwarded-For", "203.0.113.9"}})
	defer plugintest.Release(u)
	if got := u.ClientIP().String(); got != "10.0.0.1" {
		t.Errorf("untrusted peer: client %s", got)
	}
}

func TestDo(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "pt-probe"
[plugins.config]
tag = "one"
[[plugins]]
name = "pt-probe"
[plugins.config]
tag = "two"
`)
	ch.SetUpstream(plugintest.Reply{Status: 201, Header: []string{"X-Up", "a", "X-Up", "b"}, Body: "made"})
	res := ch.Do(plugintest.Request{Method: "PUT", URL: "/things/7?v=2", Body: "payload", Params: map[string]string{"id": "7"},
		Consumer: &consumer.Consumer{Name: "bob"}})
	if res.Status != 201 || res.Body != "made" || res.Stopped {
		t.Fatalf("status %d, body %q, stopped %v", res.Status, res.Body, res.Stopped)
	}
	if got := res.Response.Header.PeekAll("X-Up"); len(got) != 2 {
		t.Errorf("upstream's repeated header: %q", got)
	}
	// The response phase runs in reverse order.
	if got := fmt.Sprintf("%s", res.Response.Header.PeekAll("X-Back-Through")); got != "[two one]" {
		t.Errorf("response phase order %s, want [two one]", got)
	}
	if res.Sent == nil {
		t.Fatal("the upstream got nothing")
	}
	if got := fmt.Sprintf("%s %s %s %s", res.Sent.Header.Method(), res.Sent.RequestURI(), res.Sent.Body(), res.Sent.Header.PeekAll("X-Seen-By")); got != "PUT /things/7?v=2 payload [one two]" {
		t.Errorf("sent: %s", got)
	}
	if want := `PUT /things/7 host=example.com body="payload" streamed=false client=192.0.2.10 peer=192.0.2.10 consumer=bob id=7`; res.Values["one"] != want {
		t.Errorf("value one = %q, want %q", res.Values["one"], want)
	}
	if res.Consumer == nil || res.Consumer.Name != "bob" {
		t.Errorf("consumer %v", res.Consumer)
	}
	if logs := strings.Join(ch.Logs(), "\n"); !strings.Contains(logs, `msg="probe built" step=pt-probe tag=one`) || !strings.Contains(logs, "tag=two") {
		t.Errorf("build logs:\n%s", logs)
	}
}

func TestStopped(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "pt-stop"
[[plugins]]
name = "pt-probe"
`)
	res := ch.Do(plugintest.Request{})
	if !res.Stopped || res.Sent != nil || res.Status != 418 || res.Body != "short and stout" {
		t.Fatalf("stopped %v, sent %v, %d %q", res.Stopped, res.Sent != nil, res.Status, res.Body)
	}
	if _, ran := res.Values["probe"]; ran {
		t.Error("the step after the one that answered ran")
	}
	if got := fmt.Sprintf("%s", res.Response.Header.PeekAll("X-Back-Through")); got != "[stop]" {
		t.Errorf("response phase ran for %s, want [stop]", got)
	}
}

func TestNoUpstream(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "pt-probe"
`)
	ch.SetUpstream(nil)
	res := ch.Do(plugintest.Request{})
	if res.Stopped || res.Status != 502 || !strings.Contains(res.Body, "route has no upstream") {
		t.Fatalf("stopped %v, %d %s", res.Stopped, res.Status, res.Body)
	}
}

func TestStreamedBody(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "pt-probe"
[[plugins]]
name = "pt-limit"
`)
	res := ch.Do(plugintest.Request{Method: "POST", Stream: true, Body: "0123456789"})
	if res.Status != 200 || string(res.Sent.Body()) != "0123456789" {
		t.Fatalf("at the limit: %d, sent %q", res.Status, res.Sent.Body())
	}
	if got := res.Values["probe"].(string); !strings.Contains(got, `body="" streamed=true`) {
		t.Errorf("the step saw %s", got)
	}
	res = ch.Do(plugintest.Request{Method: "POST", Stream: true, Body: "0123456789!"})
	if res.Status != 413 || res.Sent != nil || res.Stopped || !strings.Contains(res.Body, "request body too large") {
		t.Fatalf("past the limit: %d %s, sent %v, stopped %v", res.Status, res.Body, res.Sent != nil, res.Stopped)
	}
}

func TestLogPhase(t *testing.T) {
	ch := plugintest.New(t, `
[[plugins]]
name = "pt-log"
`)
	ch.SetUpstream(plugintest.Reply{Status: 204})
	for i := 0; i < 2; i++ {
		res := ch.Do(plugintest.Request{})
		if len(res.Logs) != 1 || !strings.HasPrefix(res.Logs[0], "level=INFO msg=served route=test") || !strings.HasSuffix(res.Logs[0], " status=204") {
			t.Fatalf("request %d logged %q", i, res.Logs)
		}
	}
}

func TestRouteAndTrustedProxies(t *testing.T) {
	ch := plugintest.New(t, `
[server]
trusted_proxies = ["10.0.0.0/8"]
[[plugins]]
name = "pt-probe"
[plugins.config]
tag = "global"
[[routes]]
name = "api"
paths = ["/api/"]
  [[routes.plugins]]
  name = "pt-stop"
`)
	if got := strings.Join(ch.Labels(), ","); got != "pt-probe,pt-stop" {
		t.Fatalf("steps %s", got)
	}
	res := ch.Do(plugintest.Request{RemoteAddr: "10.1.1.1", Header: []string{"X-Forwarded-For", "198.51.100.4"}})
	if got := res.Values["global"].(string); !strings.Contains(got, "client=198.51.100.4 peer=10.1.1.1") {
		t.Errorf("trusted_proxies not applied: %s", got)
	}
	if res.Status != 418 {
		t.Errorf("route step: status %d", res.Status)
	}
	// A Request's own list replaces the configuration's.
	res = ch.Do(plugintest.Request{RemoteAddr: "10.1.1.1", Header: []string{"X-Forwarded-For", "198.51.100.4"}, TrustedProxies: []string{}})
	if got := res.Values["global"].(string); !strings.Contains(got, "client=10.1.1.1") {
		t.Errorf("Request.TrustedProxies ignored: %s", got)
	}
}

func TestBuildProblems(t *testing.T) {
	for _, tc := range []struct{ name, toml, want string }{
		{"unknown key", `
[[plugins]]
name = "pt-probe"
[plugins.config]
tagg = "x"
`, `test.toml:5: plugins[0].config.tagg: unknown key (did you mean "tag"?)`},
		{"plugin's own check", `
[[plugins]]
name = "pt-probe"
[plugins.config]
tag = ""
`, `test.toml:5: plugins[0].config.tag: must not be empty`},
		{"unknown plugin", `
[[plugins]]
name = "pt-prob"
`, `test.toml:3: plugins[0].name: unknown plugin "pt-prob" (did you mean "pt-probe"?)`},
		{"syntax", "[[plugins]\n", "test.toml:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := plugintest.Build(tc.toml)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
	if _, err := plugintest.Build("[[routes]]\npaths = [\"/a\"]\n[[routes]]\npaths = [\"/b\"]\n"); err == nil {
		t.Error("two routes accepted")
	}
}

// fakeTB records what NoAllocs reports.
type fakeTB struct{ failed bool }

func (*fakeTB) Helper()                 {}
func (*fakeTB) Logf(string, ...any)     {}
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }
func (*fakeTB) Cleanup(func())          {}

var sink []byte

func TestNoAllocs(t *testing.T) {
	var ok fakeTB
	plugintest.NoAllocs(&ok, func() {})
	if ok.failed {
		t.Error("a function that allocates nothing failed")
	}
	var bad fakeTB
	calls := 0
	plugintest.NoAllocs(&bad, func() { calls++; sink = make([]byte, calls) })
	if raceBuild {
		if calls != 1 {
			t.Errorf("under -race f ran %d times, want 1", calls)
		}
		return
	}
	if !bad.failed {
		t.Error("a function that allocates passed")
	}
}
