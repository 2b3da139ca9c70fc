package plugin_test

import (
	"os"
	"strings"
	"testing"
)

// TestDocsShowTheExample: the plugin, its benchmark and its allocation
// guard that docs/plugins.md shows are the ones compiled here, so that
// the page cannot drift from code that builds and passes.
func TestDocsShowTheExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	var code strings.Builder
	for _, f := range []string{"example_test.go", "example_timing_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code.Write(b)
	}
	shown := 0
	for _, block := range strings.Split(string(doc), "```go\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if !strings.HasPrefix(block, "// Config is the hello step") && !strings.HasPrefix(block, "func BenchmarkHello") {
			continue
		}
		shown++
		if !strings.Contains(code.String(), block) {
			t.Errorf("docs/plugins.md shows code that is not in example_test.go or example_timing_test.go:\n%s", block)
		}
	}
	if shown != 2 {
		t.Errorf("docs/plugins.md shows %d blocks of the example, want 2 (the plugin, the benchmark and guard)", shown)
	}
}
