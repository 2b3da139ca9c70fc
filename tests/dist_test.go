package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// unitDirectives returns the directive lines of a unit file, in order.
func unitDirectives(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// TestSystemdUnits: the units of dist/ start moongate as a notify
// service, reload it with SIGHUP, stop it with SIGTERM and confine it;
// the template is the plain unit plus the lines of its instance; and,
// where systemd-analyze is installed, both pass `verify` and rate at
// most 2.5 on `security` ("OK").
func TestSystemdUnits(t *testing.T) {
	plain := unitDirectives(t, "../dist/moongate.service")
	tmpl := unitDirectives(t, "../dist/moongate@.service")
	for _, want := range []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM",
		"ExecStart=/usr/local/bin/moongate run -c ${MOONGATE_CONFIG}", "NoNewPrivileges=yes", "ProtectSystem=strict",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "LimitNOFILE=1048576"} {
		if !contains(plain, want) {
			t.Errorf("dist/moongate.service has no %s", want)
		}
	}
	var drop []string
	for _, l := range tmpl {
		if !strings.Contains(l, "%i") {
			drop = append(drop, l)
		}
	}
	var plainRest []string
	for _, l := range plain {
		if !strings.HasPrefix(l, "Description=") {
			plainRest = append(plainRest, l)
		}
	}
	if strings.Join(drop, "\n") != strings.Join(plainRest, "\n") {
		t.Errorf("dist/moongate@.service differs from dist/moongate.service in more than its %%i lines:\n%s\n---\n%s",
			strings.Join(drop, "\n"), strings.Join(plainRest, "\n"))
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the units' syntax is not checked")
	}
	dir := t.TempDir()
	bin := moongateBin(t)
	for _, name := range []string{"moongate.service", "moongate@blue.service"} {
		src, err := os.ReadFile(filepath.Join("..", "dist", strings.Replace(name, "blue", "", 1)))
		if err != nil {
			t.Fatal(err)
		}
		// The binary where the unit expects it, as verify checks it exists.
		unit := filepath.Join(dir, name)
		os.WriteFile(unit, []byte(strings.ReplaceAll(string(src), "/usr/local/bin/moongate", bin)), 0o644)
		if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
		if out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=25", unit).CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze security %s: %v\n%s", name, err, out)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestOperationsDocsExamples: every TOML example of docs/operations.md
// and of the health section of docs/observability.md passes `moongate
// validate`, so the guides cannot teach a key that does not exist. An
// example without routes gets one.
func TestOperationsDocsExamples(t *testing.T) {
	t.Setenv("MOONGATE_ADMIN_LISTEN", "127.0.0.1:9081")
	n := 0
	for _, doc := range []string{"../docs/operations.md", "../docs/observability.md"} {
		src, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(src)
		if strings.HasSuffix(doc, "observability.md") {
			_, text, _ = strings.Cut(text, "\n## Health\n")
			text, _, _ = strings.Cut(text, "\n## ")
		}
		for _, b := range regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllStringSubmatch(text, -1) {
			block := b[1]
			cfg := block
			if !strings.Contains(cfg, "[[routes]]") {
				cfg += "\n[[routes]]\npaths = [\"/\"]\n  [[routes.plugins]]\n  name = \"mock\"\n"
			}
			n++
			if code, out, lines := validateLines(t, cfg); code != 0 {
				t.Errorf("%s example:\n%s\nmoongate validate: exit %d\n%s\n%s", doc, block, code, out, strings.Join(lines, "\n"))
			}
		}
	}
	if n < 4 {
		t.Fatalf("found %d examples: did the guides' blocks change?", n)
	}
}
