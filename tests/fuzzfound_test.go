package tests

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	gt "github.com/moongate/moongate/core/gateway/gatewaytest"
)

// End-to-end regression tests of what the fuzz targets found (see
// docs/security.md, "Fuzzing").

// TestReloadOfFileEndingInsideAStringKeepsServing: a configuration file
// cut short inside a string after a backslash (a file caught half-written
// by a reload, a Windows path) made the TOML parser report the line
// before the last, and, for a file of one line, line 0, on which its
// error snippet panicked: the reload took the gateway down. Found by
// FuzzParse.
func TestReloadOfFileEndingInsideAStringKeepsServing(t *testing.T) {
	up := recorder(t)
	base := upstreamTOML("u", up.URL) + catchAll
	g := gt.Start(t, base)
	for _, tc := range []struct{ name, file string }{
		{"one line", `name = "C:\`},
		{"last line", gt.WithTestListeners(base + "[[routes]]\nname = \"C:\\")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(g.File, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			res := g.Reload()
			msgs := strings.Join(res.Messages, "\n")
			last := strconv.Itoa(strings.Count(tc.file, "\n") + 1)
			if res.OK || !strings.Contains(msgs, "syntax error") || !strings.Contains(msgs, "moongate.toml:"+last+":") {
				t.Errorf("reload: %+v, want refused with a syntax error on the last line (%s)", res, last)
			}
			if st, _, _ := gt.Do(t, "GET", g.URL+"/", nil); st != 200 {
				t.Errorf("after the refused reload: %d, want 200 from the previous configuration", st)
			}
		})
	}
}

// TestReloadErrorsDoNotShowEnvironmentValues: the decoder hid values that
// came from "${VAR}", but the checks run after it quoted the value they
// refused: a password written as "${VAR}" in an upstream URL reached the
// reload errors, the process log and the admin API's /status. Found by
// FuzzParse.
func TestReloadErrorsDoNotShowEnvironmentValues(t *testing.T) {
	const secret = "pa55-w0rd-from-env"
	t.Setenv("MG_FUZZFOUND_PASSWORD", secret)
	up := recorder(t)
	base := upstreamTOML("u", up.URL) + catchAll
	g := gt.Start(t, base)

	g.Rewrite(t, base+`
[[upstreams]]
name = "billing"
targets = [{ url = "http://svc:${MG_FUZZFOUND_PASSWORD}@127.0.0.1:1/v1" }]

[[routes]]
paths = ["/billing/"]
upstream = "${MG_FUZZFOUND_PASSWORD}"
`)
	res := g.Reload()
	msgs := strings.Join(res.Messages, "\n")
	if res.OK || !strings.Contains(msgs, "upstreams[1].targets[0].url") || !strings.Contains(msgs, "routes[1].upstream") {
		t.Fatalf("reload: %+v, want the URL and the upstream refused", res)
	}
	if strings.Contains(msgs, secret) {
		t.Errorf("reload errors show the value of $MG_FUZZFOUND_PASSWORD:\n%s", msgs)
	}
	_, body, _ := gt.Do(t, "GET", g.AdminURL+"/status", nil)
	var status struct {
		Reloads struct {
			LastError string `json:"last_error"`
		} `json:"reloads"`
	}
	if err := json.Unmarshal(body, &status); err != nil || status.Reloads.LastError == "" {
		t.Fatalf("status: %s (%v)", body, err)
	}
	if strings.Contains(string(body), secret) {
		t.Errorf("/status shows the value of $MG_FUZZFOUND_PASSWORD: %s", body)
	}
}

// TestMakefileFuzzRunsEveryTarget: every fuzz target of the module has its
// line in `make fuzz` (go test -fuzz runs one target at a time).
func TestMakefileFuzzRunsEveryTarget(t *testing.T) {
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	fuzzFunc := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)
	found := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range fuzzFunc.FindAllStringSubmatch(string(src), -1) {
			found++
			line := "\t$(call fuzz," + m[1] + ",./" + filepath.ToSlash(filepath.Dir(path[3:])) + ")\n"
			if !strings.Contains(string(mk), line) {
				t.Errorf("%s (%s) is not run by make fuzz: add the line\n%s", m[1], path, line)
			}
		}
		return nil
	})
	if err != nil || found == 0 {
		t.Fatalf("no fuzz target found (%v)", err)
	}
}
