package dashboard_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests load the dashboard in a real headless Chromium
// (Debian's chromium package; `make test` installs it when missing)
// driven through the DevTools protocol by chromedp. They skip, saying
// so, only when no browser can be found.

// browserNames are the programs tried, in order, when MOONGATE_BROWSER
// does not name one.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless-shell"}

// findBrowser returns the path of a Chromium-like browser, or "".
func findBrowser() string {
	if p := os.Getenv("MOONGATE_BROWSER"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
		return ""
	}
	for _, name := range browserNames {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return ""
}

// newBrowser starts a headless browser for the test, or skips the test
// when there is none. It is closed when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := findBrowser()
	if path == "" {
		t.Skip("no Chromium or Chrome found (tried $MOONGATE_BROWSER, " + strings.Join(browserNames, ", ") +
			"): `make test` installs Debian's chromium, or run `apt-get install chromium`")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 1000))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Run starts the browser; its context must have no deadline.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[chromedp.Void]("1")); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return bctx
}

// tab is one page of the browser, with what it wrote to its console.
type tab struct {
	ctx  context.Context
	t    *testing.T
	mu   sync.Mutex
	logs []chromedp.ConsoleMessage
}

// newTab opens a tab in the browser for the test, in a browser context
// of its own (a profile: its own storage and connections), which is
// disposed at the end of the test: its connections to the gateway close
// then, and the gateway's shutdown does not wait for one the browser
// opened ahead of need (a server counts a connection that never sent a
// request as idle only after 5 s). At the end of the
// test it fails on any uncaught exception or error the page logged (a
// CSP violation among them), but for the network's answers the test
// asked for (401s while testing the token).
func newTab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	tb := &tab{ctx: ctx, t: t}
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.logs = append(tb.logs, m)
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, m := range tb.logs {
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				t.Errorf("the page logged %s (%s:%d)", m.String(), m.URL, m.Line+1)
			}
		}
	})
	return tb
}

// run runs actions in the tab, failing the test on error.
func (tb *tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its
// value (a promise is awaited) into out.
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v", expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.t.Fatalf("evaluating %s: %v (%s)", expr, err, raw)
		}
	}
}

// text returns the textContent of the element with the id.
func (tb *tab) text(id string) string {
	tb.t.Helper()
	var s string
	tb.eval(`(document.getElementById(`+jsString(id)+`) || {}).textContent || ""`, &s)
	return s
}

// waitFor waits until the JavaScript expression cond is true in the
// page, checking it at once and then on every change of the DOM, for at
// most timeout; then it fails the test, showing the page's text. The
// expression is evaluated by the DevTools protocol, which the page's CSP
// does not restrict (chromedp's Poll builds its predicate with new
// Function, which the CSP refuses).
func (tb *tab) waitFor(what, cond string, timeout time.Duration) {
	tb.t.Helper()
	js := `new Promise((resolve) => {
  const check = () => { try { return !!(` + cond + `); } catch (e) { return false; } };
  if (check()) { resolve(true); return; }
  const obs = new MutationObserver(() => { if (check()) { obs.disconnect(); clearTimeout(timer); resolve(true); } });
  const timer = setTimeout(() => { obs.disconnect(); resolve(check()); }, ` + jsNumber(timeout.Milliseconds()) + `);
  obs.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
})`
	var ok bool
	tb.eval(js, &ok)
	if !ok {
		var page string
		tb.eval(`document.body.innerText`, &page)
		tb.t.Fatalf("%s: not within %v; the page shows:\n%s", what, timeout, page)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func jsNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
