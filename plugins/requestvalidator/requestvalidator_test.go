package requestvalidator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

func build(tb testing.TB, tomlText string) (*Plugin, error) {
	tb.Helper()
	var raw map[string]any
	if _, err := toml.Decode(tomlText, &raw); err != nil {
		tb.Fatal(err)
	}
	inst, err := New(plugin.Spec{Name: "request-validator", Config: config.NewTable("config", raw)})
	if err != nil {
		return nil, err
	}
	return inst.(*Plugin), nil
}

func mustBuild(tb testing.TB, tomlText string) *Plugin {
	tb.Helper()
	p, err := build(tb, tomlText)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

const conf = `
required_headers = ["X-Tenant"]
required_query = ["version"]
max_body_size = "1KB"
[schema]
type = "object"
required = ["item", "qty"]
additionalProperties = false
[schema.properties]
item = { type = "string", minLength = 1 }
qty = { type = "integer", minimum = 1 }
email = { type = "string", format = "email" }
`

type answer struct {
	Error      string `json:"error"`
	Status     int    `json:"status"`
	Violations []struct {
		In, Name, Path, Message string
	} `json:"violations"`
}

// validate runs the request phase; it returns the status (0: let through)
// and the decoded answer.
func validate(t *testing.T, p *Plugin, method, uri, ct, body string, headers ...string) (int, answer) {
	t.Helper()
	fc := &fasthttp.RequestCtx{}
	fc.Request.Header.SetMethod(method)
	fc.Request.SetRequestURI(uri)
	if ct != "" {
		fc.Request.Header.SetContentType(ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		fc.Request.Header.Set(headers[i], headers[i+1])
	}
	if body != "" {
		fc.Request.SetBodyString(body)
	}
	c := plugintest.NewContext(fc)
	defer plugintest.Release(c)
	if err := p.OnRequest(c); err != nil {
		e, ok := err.(*plugin.Error)
		if !ok {
			t.Fatal(err)
		}
		return e.Status, answer{Error: e.Message}
	}
	if !c.Answered() {
		return 0, answer{}
	}
	var a answer
	if err := json.Unmarshal(fc.Response.Body(), &a); err != nil {
		t.Fatalf("%v: %s", err, fc.Response.Body())
	}
	if ct := string(fc.Response.Header.ContentType()); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	return fc.Response.StatusCode(), a
}

func TestValidate(t *testing.T) {
	p := mustBuild(t, conf)
	ok := `{"item":"book","qty":2}`
	if status, a := validate(t, p, "POST", "/orders?version=1", "application/json", ok, "X-Tenant", "acme"); status != 0 {
		t.Fatalf("valid request: %d %+v", status, a)
	}
	status, a := validate(t, p, "POST", "/orders", "application/json; charset=utf-8",
		`{"item":"","qty":0,"email":"nope","extra":1}`)
	if status != 400 || a.Status != 400 || a.Error != "request validation failed" {
		t.Fatalf("got %d %+v", status, a)
	}
	var got []string
	for _, v := range a.Violations {
		got = append(got, v.In+" "+v.Name+v.Path+": "+v.Message)
	}
	for _, want := range []string{"header X-Tenant: required header is missing", "query version: required query argument is missing",
		"body /email:", "body /item:", "body /qty: minimum", "body : additional"} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("no violation %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
}

func TestBodyCases(t *testing.T) {
	p := mustBuild(t, conf)
	h := []string{"X-Tenant", "acme"}
	for _, tc := range []struct {
		name, method, ct, body string
		status                 int
	}{
		{"not JSON", "POST", "application/json", `{"item":`, 400},
		{"empty POST", "POST", "application/json", ``, 400},
		{"GET without a body", "GET", "", ``, 0},
		{"DELETE with a body", "DELETE", "application/json", `{}`, 400},
		{"form", "POST", "application/x-www-form-urlencoded", `item=book&qty=1`, 415},
		{"too large", "POST", "application/json", `{"item":"` + strings.Repeat("a", 2000) + `","qty":1}`, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, a := validate(t, p, tc.method, "/orders?version=1", tc.ct, tc.body, h...); status != tc.status {
				t.Fatalf("got %d %+v, want %d", status, a, tc.status)
			}
		})
	}
}

// TestStreamedBodyRefused: a body streamed to the upstream cannot be
// validated before it goes: refused (413), not let through unchecked.
func TestStreamedBodyRefused(t *testing.T) {
	p := mustBuild(t, conf)
	fc := &fasthttp.RequestCtx{}
	fc.Request.Header.SetMethod("POST")
	fc.Request.SetRequestURI("/orders?version=1")
	fc.Request.Header.Set("X-Tenant", "acme")
	fc.Request.Header.SetContentType("application/json")
	fc.Request.SetBodyStream(strings.NewReader(`{"item":"book","qty":1}`), -1)
	c := plugintest.NewContext(fc)
	defer plugintest.Release(c)
	err := p.OnRequest(c)
	if e, ok := err.(*plugin.Error); !ok || e.Status != 413 {
		t.Fatalf("got %v", err)
	}
}

func TestSchemaFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "order.json")
	if err := os.WriteFile(file, []byte(`{"type":"object","required":["item"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := mustBuild(t, `schema_file = "`+filepath.ToSlash(file)+`"`)
	if status, _ := validate(t, p, "POST", "/", "application/json", `{"qty":1}`); status != 400 {
		t.Fatalf("status %d", status)
	}
	if status, _ := validate(t, p, "POST", "/", "application/json", `{"item":"x"}`); status != 0 {
		t.Fatalf("status %d", status)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ toml, want string }{
		{`max_body_size = "1KB"`, "nothing to validate"},
		{"schema_file = \"x.json\"\n[schema]\ntype = \"object\"", "not both"},
		{"[schema]\ntype = \"objet\"", "schema:"},
		{"[schema]\n\"$ref\" = \"https://example.com/s.json\"", "schema:"},
		{`schema_file = "/nonexistent/schema.json"`, "schema_file:"},
		{`required_headers = ["X Tenant"]`, "required_headers[0]: invalid header name"},
		{"required_query = [\"\"]", "required_query[0]"},
		{"required_query = [\"a\"]\nmax_body_size = 0", "max_body_size"},
	} {
		_, err := build(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.toml, err, tc.want)
		}
	}
}
