package jsonschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	sj "github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// MaxViolations bounds the violations Validate returns: enough to fix a
// request, not so many that a hostile body makes a huge answer.
const MaxViolations = 20

// ErrTooLarge is returned by Validate for a body over the caller's limit
// (the plugin answers 413).
var ErrTooLarge = errors.New("jsonschema: body exceeds the size limit")

// Violation is one way a body breaks the schema.
type Violation struct {
	// Path is the JSON pointer (RFC 6901) of the offending value: "" for
	// the whole body, "/items/0/price" for a nested one.
	Path string `json:"path"`
	// Message says what is wrong, in English.
	Message string `json:"message"`
}

// Schema is a compiled schema.
type Schema struct {
	s *sj.Schema
}

// inlineURL names a schema that does not come from a file. A relative
// $ref in it resolves under inlineBase, which the loader refuses; error
// messages show such URLs without the base.
const (
	inlineBase = "moongate-inline:///"
	inlineURL  = inlineBase + "schema.json"
)

var printer = message.NewPrinter(language.English)

// Compile compiles a schema written as JSON text.
func Compile(schema []byte) (*Schema, error) {
	doc, err := sj.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, errors.New("schema is not valid JSON: " + err.Error())
	}
	return compile(inlineURL, doc, "")
}

// CompileValue compiles a schema given as a decoded TOML (or JSON) value:
// maps, slices, strings, numbers, booleans. TOML dates become RFC 3339
// strings.
func CompileValue(v any) (*Schema, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errors.New("schema cannot be written as JSON: " + err.Error())
	}
	return Compile(b)
}

// CompileFile compiles the schema in the JSON file at path. $refs to
// other files are allowed within the file's folder.
func CompileFile(path string) (*Schema, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	doc, err := sj.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, errors.New("schema " + path + " is not valid JSON: " + err.Error())
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	return compile(u.String(), doc, filepath.Dir(abs))
}

func compile(loc string, doc any, dir string) (*Schema, error) {
	c := sj.NewCompiler()
	c.AssertFormat()
	c.UseLoader(loader{dir: dir})
	if err := c.AddResource(loc, doc); err != nil {
		return nil, errors.New("schema: " + err.Error())
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, errors.New("schema: " + strings.ReplaceAll(err.Error(), inlineBase, ""))
	}
	return &Schema{s: s}, nil
}

// loader resolves the references the library cannot resolve itself (the
// standard meta-schemas are built into it): files under dir, nothing else.
type loader struct{ dir string }

func (l loader) Load(ref string) (any, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "file" {
		return nil, errors.New("references outside the schema are not fetched (no network access at run time): put the referenced schema in the same file, or in a file next to it")
	}
	if l.dir == "" {
		return nil, errors.New("an inline schema cannot reference files: use a schema file")
	}
	p := filepath.FromSlash(u.Path)
	if rel, err := filepath.Rel(l.dir, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, errors.New("a schema file may only reference files in its own folder " + l.dir)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sj.UnmarshalJSON(f)
}

// Validate checks body against s. It returns nil when the body is valid,
// the violations otherwise (a body that is not JSON is one violation at
// path ""), and ErrTooLarge without looking at a body longer than
// maxBytes.
func (s *Schema) Validate(body []byte, maxBytes int) ([]Violation, error) {
	if len(body) > maxBytes {
		return nil, ErrTooLarge
	}
	v, err := sj.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return []Violation{{Path: "", Message: "body is not valid JSON: " + jsonError(err)}}, nil
	}
	err = s.s.Validate(v)
	if err == nil {
		return nil, nil
	}
	var ve *sj.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{Path: "", Message: err.Error()}}, nil
	}
	var out []Violation
	leaves(ve, &out)
	// Deepest causes come in schema order; sort by path for a stable,
	// readable answer, and drop repeats (oneOf branches often agree).
	slices.SortStableFunc(out, func(a, b Violation) int { return strings.Compare(a.Path, b.Path) })
	out = slices.Compact(out)
	if len(out) > MaxViolations {
		out = out[:MaxViolations]
	}
	return out, nil
}

func leaves(e *sj.ValidationError, out *[]Violation) {
	if len(e.Causes) == 0 {
		*out = append(*out, Violation{Path: pointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(printer)})
		return
	}
	for _, c := range e.Causes {
		leaves(c, out)
	}
}

// pointer writes tokens as an RFC 6901 JSON pointer.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}

// jsonError shortens encoding/json's error text, which may quote the
// offending input.
func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

// AppendJSON appends vs as a JSON array of {"path": ..., "message": ...}
// objects to dst, for the plugin's 400 response.
func AppendJSON(dst []byte, vs []Violation) []byte {
	dst = append(dst, '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"path":`...)
		dst = appendString(dst, v.Path)
		dst = append(dst, `,"message":`...)
		dst = appendString(dst, v.Message)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}
