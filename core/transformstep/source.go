package transformstep

import (
	"strconv"
	"sync"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/template"
)

// Source gives templates the data of the request of a plugin.Context:
// request headers, query arguments, path parameters, the consumer, the
// per-request values and the request's own fields. In the response phase
// it still reads the request (as the steps before left it). Get one with
// AcquireSource and give it back with ReleaseSource; it belongs to one
// request at a time.
type Source struct {
	c   *plugin.Context
	buf []byte
}

var _ template.Source = (*Source)(nil)

var sources = sync.Pool{New: func() any { return new(Source) }}

// AcquireSource returns a Source reading c.
func AcquireSource(c *plugin.Context) *Source {
	s := sources.Get().(*Source)
	s.c = c
	return s
}

// ReleaseSource gives s back; s must not be used afterwards.
func ReleaseSource(s *Source) {
	s.c = nil
	s.buf = s.buf[:0]
	sources.Put(s)
}

// Header implements template.Source: the request header name.
func (s *Source) Header(name string) []byte { return s.c.Request.Header.Peek(name) }

// Query implements template.Source: the (decoded) query argument name.
func (s *Source) Query(name string) []byte {
	return s.c.Request.URI().QueryArgs().Peek(name)
}

// Param implements template.Source: the route's path parameter name.
func (s *Source) Param(name string) []byte { return s.c.Params.Get(name) }

// ConsumerName implements template.Source.
func (s *Source) ConsumerName() []byte {
	if s.c.Consumer == nil {
		return nil
	}
	s.buf = append(s.buf[:0], s.c.Consumer.Name...)
	return s.buf
}

// Ctx implements template.Source: the per-request value name as text.
// Strings and byte slices are used as they are, numbers and booleans
// written out (a whole float64, as Lua numbers are, without a fraction:
// 42, not 42.0); other values (tables) count as absent.
func (s *Source) Ctx(name string) []byte {
	switch v := s.c.Value(name).(type) {
	case string:
		s.buf = append(s.buf[:0], v...)
	case []byte:
		return v
	case bool:
		s.buf = strconv.AppendBool(s.buf[:0], v)
	case float64:
		s.buf = strconv.AppendFloat(s.buf[:0], v, 'f', -1, 64)
	case float32:
		s.buf = strconv.AppendFloat(s.buf[:0], float64(v), 'f', -1, 32)
	case int:
		s.buf = strconv.AppendInt(s.buf[:0], int64(v), 10)
	case int64:
		s.buf = strconv.AppendInt(s.buf[:0], v, 10)
	case int32:
		s.buf = strconv.AppendInt(s.buf[:0], int64(v), 10)
	case uint64:
		s.buf = strconv.AppendUint(s.buf[:0], v, 10)
	case uint32:
		s.buf = strconv.AppendUint(s.buf[:0], uint64(v), 10)
	case uint:
		s.buf = strconv.AppendUint(s.buf[:0], uint64(v), 10)
	default:
		return nil
	}
	return s.buf
}

// Request implements template.Source: the request's own fields; the
// path is the normalized path (the one a step set, once set).
func (s *Source) Request(f template.Field) []byte {
	switch f {
	case template.FieldHost:
		return s.c.Host()
	case template.FieldPath:
		return s.c.Path()
	case template.FieldMethod:
		return s.c.Method()
	case template.FieldScheme:
		s.buf = append(s.buf[:0], s.c.Scheme()...)
		return s.buf
	case template.FieldQuery:
		return s.c.Request.URI().QueryString()
	}
	return nil
}
