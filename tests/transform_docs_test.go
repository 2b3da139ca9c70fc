package tests

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestTransformDocsExamples: every full TOML example of
// docs/plugins-transform.md passes `moongate validate`, so the guide
// cannot teach a key that does not exist. Fragments are wrapped in a
// route (and the upstreams they name are defined).
func TestTransformDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/plugins-transform.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	upstreamRef := regexp.MustCompile(`(?m)^\s*upstream = "([^"]+)"`)
	n := 0
	for _, b := range blocks {
		block := b[1]
		first := strings.TrimSpace(strings.SplitN(strings.TrimSpace(block), "\n", 2)[0])
		var cfg string
		switch {
		case strings.HasPrefix(first, "[[routes]]") || strings.HasPrefix(first, "[[plugins]]") && strings.Contains(block, "[[routes]]"):
			cfg = block
		case strings.HasPrefix(first, "[[routes.plugins]]"):
			cfg = "[[routes]]\npaths = [\"/\"]\nupstream = \"u\"\n" + block
		case strings.HasPrefix(first, "[[plugins]]"):
			cfg = block + "\n[[routes]]\npaths = [\"/\"]\nupstream = \"u\"\n"
		default:
			continue // a fragment of a step's table
		}
		names := map[string]bool{"u": true}
		for _, m := range upstreamRef.FindAllStringSubmatch(cfg, -1) {
			names[m[1]] = true
		}
		for name := range names {
			cfg += "\n[[upstreams]]\nname = \"" + name + "\"\ntargets = [{ url = \"http://127.0.0.1:1\" }]\n"
		}
		n++
		if code, out, lines := validateLines(t, cfg); code != 0 {
			t.Errorf("example:\n%s\nmoongate validate: exit %d\n%s\n%s", block, code, out, strings.Join(lines, "\n"))
		}
	}
	if n < 6 {
		t.Fatalf("found %d examples: did the guide's blocks change?", n)
	}
}
