package authtest

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	_ "github.com/moongate/moongate/plugins/acl"
	_ "github.com/moongate/moongate/plugins/basicauth"
	_ "github.com/moongate/moongate/plugins/iprestriction"
	_ "github.com/moongate/moongate/plugins/keyauth"
	"github.com/valyala/fasthttp"
)

// seen is what the upstream received, for assertions.
type seen struct {
	Path    string
	URI     string
	Headers map[string][]string
}

// recorder is an upstream that counts and records requests.
type recorder struct {
	*gatewaytest.Upstream
	mu   sync.Mutex
	reqs []seen
}

func startRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Upstream = gatewaytest.StartUpstream(t, func(ctx *fasthttp.RequestCtx) {
		s := seen{Path: string(ctx.Path()), URI: string(ctx.RequestURI()), Headers: map[string][]string{}}
		for k, v := range ctx.Request.Header.All() {
			s.Headers[string(k)] = append(s.Headers[string(k)], string(v))
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, s)
		r.mu.Unlock()
		b, _ := json.Marshal(s)
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
	})
	return r
}

func (r *recorder) last(t *testing.T) seen {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("upstream received nothing")
	}
	return r.reqs[len(r.reqs)-1]
}

// header returns the values of header name (any case) the upstream saw.
func (s seen) header(name string) []string {
	var out []string
	for k, v := range s.Headers {
		if strings.EqualFold(k, name) {
			out = append(out, v...)
		}
	}
	return out
}

func upstreamTOML(u *recorder) string {
	return "[[upstreams]]\nname = \"app\"\ntargets = [{ url = \"" + u.URL + "\" }]\n"
}

// noSecret fails if body holds any of the secrets.
func noSecret(t *testing.T, body []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(string(body), s) {
			t.Fatalf("response body leaks a secret: %s", body)
		}
	}
}
