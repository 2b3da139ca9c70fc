package requestvalidator

import (
	"errors"
	"strconv"
	"sync"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/jsonedit"
	"github.com/moongate/moongate/core/jsonschema"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/transformstep"
)

func init() { plugin.Register("request-validator", New) }

// Config is the plugin's TOML table.
type Config struct {
	// Schema is a JSON Schema written as a TOML table. Default: none.
	Schema map[string]any `toml:"schema"`
	// SchemaFile is a JSON Schema file (relative paths from the directory
	// moongate runs in); it may $ref files in its own folder. Default "".
	SchemaFile string `toml:"schema_file"`
	// RequiredHeaders must be present and not empty. Default: none.
	RequiredHeaders []string `toml:"required_headers"`
	// RequiredQuery are query arguments that must be present. Default: none.
	RequiredQuery []string `toml:"required_query"`
	// MaxBodySize is the largest body validated; larger ones get 413.
	// Default "1MB" (the default [server] buffer_body_size: larger bodies
	// stream and are refused anyway unless that is raised too).
	MaxBodySize config.Size `toml:"max_body_size"`
}

// Plugin is an instance of request-validator.
type Plugin struct {
	schema  *jsonschema.Schema
	headers []string
	query   []string
	max     int
}

var _ plugin.RequestHandler = (*Plugin)(nil)

// New builds the plugin from its step.
func New(spec plugin.Spec) (any, error) {
	cfg := Config{MaxBodySize: 1 << 20}
	if err := spec.Config.Decode(&cfg); err != nil {
		return nil, err
	}
	p := &Plugin{headers: cfg.RequiredHeaders, query: cfg.RequiredQuery, max: cfg.MaxBodySize.Int()}
	if p.max <= 0 {
		return nil, spec.Config.Problem("max_body_size", "must be more than 0, got "+strconv.Itoa(p.max))
	}
	for i, h := range cfg.RequiredHeaders {
		if !config.IsToken(h) {
			return nil, spec.Config.Problem("required_headers["+strconv.Itoa(i)+"]", "invalid header name "+strconv.Quote(h))
		}
	}
	for i, q := range cfg.RequiredQuery {
		if q == "" {
			return nil, spec.Config.Problem("required_query["+strconv.Itoa(i)+"]", "empty name")
		}
	}
	var err error
	switch {
	case cfg.Schema != nil && cfg.SchemaFile != "":
		return nil, spec.Config.Problem("schema_file", "give the schema inline (schema) or in a file (schema_file), not both")
	case cfg.Schema != nil:
		if p.schema, err = jsonschema.CompileValue(cfg.Schema); err != nil {
			return nil, spec.Config.Problem("schema", err.Error())
		}
	case cfg.SchemaFile != "":
		if p.schema, err = jsonschema.CompileFile(cfg.SchemaFile); err != nil {
			return nil, spec.Config.Problem("schema_file", err.Error())
		}
	}
	if p.schema == nil && len(p.headers) == 0 && len(p.query) == 0 {
		return nil, spec.Config.Problem("schema", "nothing to validate: needs schema, schema_file, required_headers or required_query")
	}
	return p, nil
}

var (
	errTooLarge    = plugin.NewError(413, "request body too large")
	errStreamed    = plugin.NewError(413, "request body too large to be validated")
	errContentType = plugin.NewError(415, "request body must be JSON (Content-Type: application/json)")
)

// violation is one problem of a request.
type violation struct {
	in      string // "header", "query" or "body"
	name    string // header or query argument
	path    string // JSON pointer in the body
	message string
}

type state struct {
	list []violation
	out  []byte
}

var states = sync.Pool{New: func() any { return new(state) }}

// OnRequest implements plugin.RequestHandler.
func (p *Plugin) OnRequest(c *plugin.Context) error {
	var st *state
	add := func(v violation) {
		if st == nil {
			st = states.Get().(*state)
		}
		st.list = append(st.list, v)
	}
	for _, h := range p.headers {
		if len(c.Request.Header.Peek(h)) == 0 {
			add(violation{in: "header", name: h, message: "required header is missing"})
		}
	}
	if len(p.query) > 0 {
		args := c.Request.URI().QueryArgs()
		for _, q := range p.query {
			if !args.Has(q) {
				add(violation{in: "query", name: q, message: "required query argument is missing"})
			}
		}
	}
	if p.schema != nil && hasBody(c) {
		body, streamed := c.RequestBody()
		switch {
		case streamed:
			return errStreamed
		case len(body) > p.max:
			return errTooLarge
		case !transformstep.IsJSON(c.Request.Header.ContentType()):
			return errContentType
		}
		vs, err := p.schema.Validate(body, p.max)
		if errors.Is(err, jsonschema.ErrTooLarge) {
			return errTooLarge
		}
		for _, v := range vs {
			add(violation{in: "body", path: v.Path, message: v.Message})
		}
	}
	if st == nil {
		return nil
	}
	st.out = appendAnswer(st.out[:0], c.RequestID(), st.list)
	c.Respond(400, "application/json", st.out)
	clear(st.list)
	st.list = st.list[:0]
	states.Put(st)
	return nil
}

// hasBody reports whether the body is to be validated: methods that
// carry one, and any request that has one.
func hasBody(c *plugin.Context) bool {
	switch string(c.Method()) {
	case "POST", "PUT", "PATCH":
		return true
	}
	if body, streamed := c.RequestBody(); streamed || len(body) > 0 {
		return true
	}
	return c.Request.Header.ContentLength() != 0
}

// appendAnswer writes the 400 body: the gateway's error format with the
// violations.
//
//	{"error":"request validation failed","status":400,"request_id":"…",
//	 "violations":[{"in":"body","path":"/qty","message":"minimum: got 0, want 1"},
//	               {"in":"header","name":"X-Tenant","message":"required header is missing"}]}
func appendAnswer(b []byte, requestID []byte, vs []violation) []byte {
	b = append(b, `{"error":"request validation failed","status":400`...)
	if len(requestID) > 0 {
		b = append(b, `,"request_id":`...)
		b = jsonedit.AppendString(b, requestID)
	}
	b = append(b, `,"violations":[`...)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"in":"`...)
		b = append(b, v.in...)
		b = append(b, '"')
		if v.in == "body" {
			b = append(b, `,"path":`...)
			b = jsonedit.AppendString(b, []byte(v.path))
		} else {
			b = append(b, `,"name":`...)
			b = jsonedit.AppendString(b, []byte(v.name))
		}
		b = append(b, `,"message":`...)
		b = jsonedit.AppendString(b, []byte(v.message))
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}
