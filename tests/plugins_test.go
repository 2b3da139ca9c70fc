package tests

import (
	"errors"
	"sync"

	"github.com/moongate/moongate/core/plugin"
	_ "github.com/moongate/moongate/plugins/headers"
	_ "github.com/moongate/moongate/plugins/mock"
	_ "github.com/moongate/moongate/plugins/requestid"
)

// Test-only plugins that make the chain's behaviour visible from outside.
func init() {
	for _, name := range []string{"trace-a", "trace-b", "trace-c"} {
		plugin.Register(name, newTrace)
	}
	plugin.Register("test-fail", newFail)
	plugin.Register("test-log", newLogRecorder)
}

// trace appends its label to X-Trace-Request on the request (the upstream
// sees the request-phase order) and to X-Trace-Response on the response
// (the client sees the response-phase order). With answer = true it
// answers the request itself.
type trace struct {
	label  string
	answer bool
}

func newTrace(spec plugin.Spec) (any, error) {
	var cfg struct {
		Label  string `toml:"label"`
		Answer bool   `toml:"answer"`
	}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Label == "" {
		return nil, spec.Config.Problem("label", "is required")
	}
	return &trace{label: cfg.Label, answer: cfg.Answer}, nil
}

func appendTrace(prev []byte, label string) string {
	if len(prev) == 0 {
		return label
	}
	return string(prev) + "," + label
}

func (p *trace) OnRequest(c *plugin.Context) error {
	c.Request.Header.Set("X-Trace-Request", appendTrace(c.Request.Header.Peek("X-Trace-Request"), p.label))
	if p.answer {
		c.Respond(299, "text/plain", []byte("answered by "+p.label))
	}
	return nil
}

func (p *trace) OnResponse(c *plugin.Context) error {
	c.Response.Header.Set("X-Trace-Response", appendTrace(c.Response.Header.Peek("X-Trace-Response"), p.label))
	return nil
}

// fail returns an error in the request phase: a 4xx refusal or a failure.
type fail struct{ status int }

func newFail(spec plugin.Spec) (any, error) {
	var cfg struct {
		Status int  `toml:"status"`
		Panic  bool `toml:"panic"`
	}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Panic {
		return &panicker{}, nil
	}
	return &fail{status: cfg.Status}, nil
}

func (p *fail) OnRequest(*plugin.Context) error {
	if p.status == 0 {
		return errors.New("plain failure with secret-internal-detail")
	}
	return plugin.NewError(p.status, "refused by test-fail")
}

type panicker struct{}

func (panicker) OnRequest(*plugin.Context) error { panic("test-fail panics") }

// logRecorder records, in its log phase, the status and path of every
// request, and whether the response had been written (Fast is nil).
type logRecorder struct{}

type logEntry struct {
	status   int
	path     string
	detached bool
	bodySize int
}

var (
	logMu      sync.Mutex
	logEntries []logEntry
	logSignal  = make(chan struct{}, 1024)
)

func newLogRecorder(plugin.Spec) (any, error) { return logRecorder{}, nil }

func (logRecorder) OnLog(c *plugin.Context) {
	logMu.Lock()
	logEntries = append(logEntries, logEntry{
		status: c.Response.StatusCode(), path: string(c.Request.URI().Path()),
		detached: c.Fast == nil, bodySize: c.BodySize(),
	})
	logMu.Unlock()
	logSignal <- struct{}{}
}
