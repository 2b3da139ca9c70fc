package jsonschema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const orderSchema = `{
  "type": "object",
  "required": ["id", "items"],
  "additionalProperties": false,
  "properties": {
    "id": {"type": "string", "pattern": "^ord-[0-9]+$"},
    "email": {"type": "string", "format": "email"},
    "items": {
      "type": "array", "minItems": 1,
      "items": {
        "type": "object", "required": ["sku", "qty"],
        "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}, "a/b~c": {"type": "boolean"}}
      }
    }
  }
}`

func TestValidate(t *testing.T) {
	s, err := Compile([]byte(orderSchema))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body string
		want       []Violation
	}{
		{"valid", `{"id":"ord-1","items":[{"sku":"x","qty":2}]}`, nil},
		{"missing required", `{"items":[{"sku":"x","qty":1}]}`, []Violation{{"", "missing property 'id'"}}},
		{"wrong type", `{"id":7,"items":[{"sku":"x","qty":1}]}`, []Violation{{"/id", "got number, want string"}}},
		{"pattern", `{"id":"x-1","items":[{"sku":"x","qty":1}]}`, []Violation{{"/id", "'x-1' does not match pattern '^ord-[0-9]+$'"}}},
		{"format asserted", `{"id":"ord-1","email":"not-an-address","items":[{"sku":"x","qty":1}]}`, []Violation{{"/email", "'not-an-address' is not valid email: missing @"}}},
		{"nested, several", `{"id":"ord-1","items":[{"sku":"x","qty":0},{"qty":"2"}]}`, []Violation{
			{"/items/0/qty", "minimum: got 0, want 1"},
			{"/items/1", "missing property 'sku'"},
			{"/items/1/qty", "got string, want integer"},
		}},
		{"pointer escaping", `{"id":"ord-1","items":[{"sku":"x","qty":1,"a/b~c":1}]}`, []Violation{{"/items/0/a~1b~0c", "got number, want boolean"}}},
		{"additional property", `{"id":"ord-1","items":[{"sku":"x","qty":1}],"admin":true}`, []Violation{{"", "additional properties 'admin' not allowed"}}},
		{"not an object", `[1,2]`, []Violation{{"", "got array, want object"}}},
		{"not JSON", `{"id":`, []Violation{{"", "body is not valid JSON: unexpected EOF"}}},
		{"trailing data", `{"id":"ord-1","items":[{"sku":"x","qty":1}]} {}`, []Violation{{"", "body is not valid JSON: invalid character after top-level value"}}},
		{"empty body", ``, []Violation{{"", "body is not valid JSON: EOF"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Validate([]byte(tc.body), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Validate(%s) =\n%q\nwant\n%q", tc.body, got, tc.want)
			}
		})
	}
}

func TestValidateLimits(t *testing.T) {
	s, _ := Compile([]byte(`{"type":"array","items":{"type":"string"}}`))
	if _, err := s.Validate([]byte(`["a","b"]`), 8); !errors.Is(err, ErrTooLarge) {
		t.Errorf("9-byte body, limit 8: err = %v; want ErrTooLarge", err)
	}
	// 500 wrong items give MaxViolations violations, not 500.
	body := "[" + strings.Repeat("1,", 499) + "1]"
	got, err := s.Validate([]byte(body), 1<<20)
	if err != nil || len(got) != MaxViolations {
		t.Errorf("got %d violations, %v; want %d", len(got), err, MaxViolations)
	}
}

func TestCompileValueFromTOML(t *testing.T) {
	// What BurntSushi/toml gives for [plugins.config.schema] tables.
	v := map[string]any{
		"type":     "object",
		"required": []any{"name"},
		"properties": map[string]any{
			"name": map[string]any{"type": "string", "maxLength": int64(5)},
			"tags": map[string]any{"type": "array", "maxItems": int64(2)},
		},
	}
	s, err := CompileValue(v)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Validate([]byte(`{"name":"toolong","tags":[1,2,3]}`), 1<<20)
	want := []Violation{{"/name", "maxLength: got 7, want 5"}, {"/tags", "maxItems: got 3, want 2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, schema, want string
	}{
		{"not JSON", `{"type":`, "schema is not valid JSON"},
		{"bad keyword value", `{"type":"strin"}`, "schema: "},
		{"bad regex", `{"pattern":"(?<=a)b"}`, "schema: "},
		{"remote ref", `{"$ref":"https://example.com/s.json"}`, "no network access at run time"},
		{"remote meta-schema", `{"$schema":"http://example.com/meta"}`, "no network access at run time"},
		{"relative ref inline", `{"$ref":"other.json"}`, "no network access at run time"},
		{"file ref inline", `{"$ref":"file:///etc/hostname"}`, "an inline schema cannot reference files"},
		{"missing local ref", `{"$ref":"#/$defs/nope"}`, "schema: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]byte(tc.schema))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile(%s) error = %v; want it to contain %q", tc.schema, err, tc.want)
			}
		})
	}
	// Standard meta-schemas and local refs need nothing from outside.
	for _, ok := range []string{
		`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object"}`,
		`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object"}`,
		`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}`,
		`{"$defs":{"n":{"type":"integer"}},"properties":{"a":{"$ref":"#/$defs/n"}}}`,
	} {
		if _, err := Compile([]byte(ok)); err != nil {
			t.Errorf("Compile(%s): %v", ok, err)
		}
	}
}

func TestCompileFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "schemas")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "item.json"), []byte(`{"type":"object","required":["sku"]}`), 0o644)
	os.WriteFile(filepath.Join(sub, "order.json"), []byte(`{"type":"array","items":{"$ref":"item.json"}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "secret.json"), []byte(`{"type":"object"}`), 0o644)
	os.WriteFile(filepath.Join(sub, "escape.json"), []byte(`{"$ref":"../secret.json"}`), 0o644)

	s, err := CompileFile(filepath.Join(sub, "order.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Validate([]byte(`[{"sku":"a"},{}]`), 1<<20)
	if want := []Violation{{"/1", "missing property 'sku'"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
	if _, err := CompileFile(filepath.Join(sub, "escape.json")); err == nil || !strings.Contains(err.Error(), "only reference files in its own folder") {
		t.Errorf("ref to ../secret.json: err = %v", err)
	}
	if _, err := CompileFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file compiled")
	}
}

func TestAppendJSON(t *testing.T) {
	vs := []Violation{{"/a", `got "x"`}, {"", "missing property 'id'"}}
	b := AppendJSON(nil, vs)
	var back []Violation
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, vs) {
		t.Errorf("AppendJSON = %s (%v)", b, err)
	}
	if s := string(AppendJSON(nil, nil)); s != "[]" {
		t.Errorf("AppendJSON(nil) = %s", s)
	}
}
