package authtest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moongate/moongate/core/gateway/gatewaytest"
	"github.com/moongate/moongate/core/plugin"
)

// uriLog is a log step recording the request line the log phase sees,
// as an access log would.
type uriLog struct{}

var (
	loggedMu sync.Mutex
	logged   []string
)

func (uriLog) OnLog(c *plugin.Context) {
	loggedMu.Lock()
	logged = append(logged, string(c.Request.Header.RequestURI())+" "+c.Request.URI().String())
	loggedMu.Unlock()
}

func init() {
	plugin.Register("test-uri-log", func(plugin.Spec) (any, error) { return uriLog{}, nil })
}

// A key sent in the query is gone from the request line before any log
// step sees it.
func TestQueryKeyRedactedInLogs(t *testing.T) {
	u := startRecorder(t)
	g := gatewaytest.Start(t, upstreamTOML(u)+twoConsumers+`
[[routes]]
paths = ["/"]
upstream = "app"
  [[routes.plugins]]
  name = "test-uri-log"
  [[routes.plugins]]
  name = "key-auth"
  [routes.plugins.config]
  query = "apikey"
`)
	for _, q := range []string{"?apikey=" + aliceKey + "&x=1", "?apikey=wrong-" + aliceKey} {
		gatewaytest.Do(t, "GET", g.URL+"/orders"+q, nil)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		loggedMu.Lock()
		n := len(logged)
		loggedMu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	loggedMu.Lock()
	defer loggedMu.Unlock()
	if len(logged) < 2 {
		t.Fatalf("log phase ran %d times", len(logged))
	}
	for _, l := range logged {
		if strings.Contains(l, aliceKey) || strings.Contains(l, "apikey") {
			t.Fatalf("log phase saw the key: %q", l)
		}
	}
}
