package lua_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/cli"
	"github.com/moongate/moongate/plugins/lua"
	_ "github.com/moongate/moongate/plugins/ratelimit" // [[rate_limits]] for scripts/ratelimit.lua
)

// TestShippedScripts runs the *_test.lua of every script in scripts/, as
// `moongate script test scripts` does.
func TestShippedScripts(t *testing.T) {
	var out bytes.Buffer
	sum := lua.RunTests([]string{filepath.Join("..", "..", "scripts")}, &out)
	t.Log("\n" + out.String())
	if sum.Failed > 0 || sum.Passed == 0 {
		t.Fatalf("got %d passed, %d failed; want all passing", sum.Passed, sum.Failed)
	}
	for _, name := range []string{"tenant", "api_key", "redact", "ratelimit", "ratelimit_key", "ext_auth"} {
		if !strings.Contains(out.String(), "scripts/"+name+"_test.lua") {
			t.Errorf("no test ran for scripts/%s.lua", name)
		}
	}
}

// TestScriptTestCommandFails checks that a failing case makes
// `moongate script test` exit 1 and say where it failed.
func TestScriptTestCommandFails(t *testing.T) {
	dir := writeScripts(t, map[string]string{
		"s.lua":      `return { on_request = function() gw.request.set_header("X-A", "1") end }`,
		"s_test.lua": "local s = gwtest.load('s.lua')\ngwtest.test('wrong', function()\n  gwtest.eq(s:run{}.request_headers['x-a'], '2')\nend)\ngwtest.test('right', function() gwtest.eq(s:run{}.request_headers['x-a'], '1') end)\n",
	})
	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"script", "test", dir}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit code: got %d, want 1\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"s_test.lua:3: got \"1\", want \"2\"", "1 passed, 1 failed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestScriptRunCommand checks what `moongate script run` reports.
func TestScriptRunCommand(t *testing.T) {
	dir := writeScripts(t, map[string]string{"x.lua": `
local M = {}
function M.on_request(conf)
  gw.log.info("hello", gw.request.get_header("X-In"))
  gw.request.set_header("X-Out", conf.value)
  gw.request.set_path("/v2" .. gw.request.get_path())
  if gw.request.get_query_arg("deny") then
    return gw.response.exit(403, "denied")
  end
end
return M
`})
	file := filepath.Join(dir, "x.lua")
	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"script", "run", file, "--method", "POST", "--path", "/a?x=1", "-H", "X-In: hi", "--conf", `{"value":"v1"}`}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	for _, want := range []string{"request  POST /a?x=1", "upstream default", "path /a -> /v2/a", "header set     x-out: v1", "response 200", "info  hello hi (line 4)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	stdout.Reset()
	cli.Main([]string{"script", "run", file, "--path", "/a?deny=1", "--conf", `{"value":"v"}`}, &stdout, &stderr)
	for _, want := range []string{"upstream not called", "response 403", "denied"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	// A syntax error is reported with file and line, exit code 1.
	os.WriteFile(file, []byte("return {\n on_request = function( end }"), 0o644)
	stdout.Reset()
	stderr.Reset()
	if code := cli.Main([]string{"script", "run", file}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit code for a syntax error: got %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "x.lua:2: syntax error") {
		t.Errorf("stderr lacks the position of the syntax error:\n%s", stderr.String())
	}
}
