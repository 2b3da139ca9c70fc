package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/plugin"
)

// The test's own steps and subcommand: cli-answer answers every request,
// cli-maybe may (a warning without an upstream).
func init() {
	plugin.Register("cli-answer", func(plugin.Spec) (any, error) { return answer(plugin.AnswerAlways), nil })
	plugin.Register("cli-maybe", func(plugin.Spec) (any, error) { return answer(plugin.AnswerMaybe), nil })
	plugin.RegisterCommand("cli-echo", plugin.Command{Summary: "print the arguments: cli-echo ARGS...",
		Run: func(args []string, stdout, _ io.Writer) int {
			io.WriteString(stdout, strings.Join(args, " ")+"\n")
			return 3
		}})
}

type answer plugin.Answer

func (answer) OnRequest(c *plugin.Context) error { c.Respond(200, "", nil); return nil }
func (a answer) Answers() plugin.Answer          { return plugin.Answer(a) }

// run runs the command line and returns stdout, stderr and the exit code.
func run(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := Main(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "help"} {
		out, errOut, code := run(arg)
		if code != 0 || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", arg, code, errOut)
		}
		if !strings.HasPrefix(out, "usage: moongate <command> [flags]\n") {
			t.Fatalf("%s: %q", arg, out)
		}
		// Every command, moongate's and those registered by others, with
		// its summary, in name order.
		var names []string
		for _, line := range strings.Split(out, "\n")[2:] {
			if f := strings.Fields(line); len(f) > 0 {
				names = append(names, f[0])
			}
		}
		if got := strings.Join(names, " "); got != "cli-echo run validate version" {
			t.Fatalf("%s: commands %q", arg, got)
		}
		if !strings.Contains(out, "  validate   check a configuration and exit") {
			t.Fatalf("%s: no summary of validate:\n%s", arg, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	out, errOut, code := run()
	if code != 2 || out != "" || !strings.HasPrefix(errOut, "usage: moongate") {
		t.Fatalf("no arguments: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = run("serve", "-c", "x.toml")
	if code != 2 || out != "" || !strings.HasPrefix(errOut, "moongate: unknown command \"serve\"\nusage: moongate") {
		t.Fatalf("unknown command: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, args := range [][]string{{"validate", "-x"}, {"validate", "extra"}, {"run", "-c"}} {
		if _, errOut, code := run(args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

func TestCommandsRegisteredByOthers(t *testing.T) {
	out, _, code := run("cli-echo", "a", "b")
	if code != 3 || out != "a b\n" {
		t.Fatalf("exit %d, stdout %q: the arguments after the name go to the command, its code is the exit code", code, out)
	}
}

func TestVersion(t *testing.T) {
	out, _, code := run("version")
	if code != 0 || out != "moongate "+gateway.Version+"\n" {
		t.Fatalf("exit %d, %q", code, out)
	}
}

func writeConfig(t *testing.T, toml string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "moongate.toml")
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestValidate(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		file := writeConfig(t, "[[routes]]\npaths = [\"/\"]\n  [[routes.plugins]]\n  name = \"cli-answer\"\n")
		out, errOut, code := run("validate", "-c", file)
		if code != 0 || out != "ok\n" || errOut != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("warnings do not fail", func(t *testing.T) {
		file := writeConfig(t, "[[routes]]\nname = \"r\"\npaths = [\"/\"]\n  [[routes.plugins]]\n  name = \"cli-maybe\"\n")
		out, errOut, code := run("validate", "-c", file)
		if code != 0 || out != "ok\n" || !strings.HasPrefix(errOut, file+`:1: routes[0]: warning: route "r" has no upstream`) {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("every problem, file:line: key: reason", func(t *testing.T) {
		file := writeConfig(t, `[server]
read_timeout = "soon"

[[routes]]
paths = ["/"]
  [[routes.plugins]]
  name = "cli-answr"
`)
		out, errOut, code := run("validate", "-c", file)
		want := []string{
			file + `:2: server.read_timeout: invalid duration`,
			file + `:7: routes[0].plugins[0].name: unknown plugin "cli-answr" (did you mean "cli-answer"?)`,
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 1 || out != "" || len(lines) != len(want) {
			t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
		}
		for i := range want {
			if !strings.HasPrefix(lines[i], want[i]) {
				t.Errorf("line %d:\n got %s\nwant %s...", i+1, lines[i], want[i])
			}
		}
	})
	t.Run("a missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope.toml")
		_, errOut, code := run("validate", "-c", missing)
		if code != 1 || !strings.Contains(errOut, missing) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestRunRefusesABadConfiguration(t *testing.T) {
	file := writeConfig(t, "[[routes]]\npaths = [\"/\"]\n  [[routes.plugins]]\n  name = \"cli-answer\"\n  enabeld = true\n")
	_, errOut, code := run("run", "-c", file)
	if code != 1 || !strings.HasPrefix(errOut, file+`:5: routes[0].plugins[0].enabeld: unknown key (did you mean "enabled"?)`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		level, format string
		want          []string // of debug, info, warn, error
	}{
		{"", "", []string{"info", "warn", "error"}},
		{"debug", "text", []string{"debug", "info", "warn", "error"}},
		{"warn", "json", []string{"warn", "error"}},
		{"error", "text", []string{"error"}},
	} {
		var buf bytes.Buffer
		l := NewLogger(config.Log{Level: tc.level, Format: tc.format}, &buf)
		l.Debug("debug")
		l.Info("info")
		l.Warn("warn")
		l.Error("error")
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != len(tc.want) {
			t.Fatalf("level %q: %d lines, want %v:\n%s", tc.level, len(lines), tc.want, buf.String())
		}
		for i, msg := range tc.want {
			json := strings.HasPrefix(lines[i], "{")
			if json != (tc.format == "json") || !strings.Contains(lines[i], msg) {
				t.Fatalf("level %q, format %q: line %q", tc.level, tc.format, lines[i])
			}
		}
	}
}
