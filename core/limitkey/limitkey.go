// Package limitkey composes the key that says who a limit counts (the
// rate-limit and concurrency-limit plugins): the consumer, the client IP,
// the route, a request header, a path parameter, a query argument or a
// per-request value a step set, or several of them combined.
//
// A Key is compiled once from its specification, when the plugin is
// built; Append writes a request's key into a caller's buffer without
// allocating. Each part is written as its length in decimal, ':' and its
// bytes ("5:alice"), a missing part as "-", so that no two different
// combinations of values give the same key, whatever bytes a client puts
// in a header.
package limitkey

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
)

// kind is what one part of a key reads.
type kind uint8

const (
	kindConsumer kind = iota // the authenticated consumer's name
	kindIP                   // the client IP (Context.ClientIP)
	kindRoute                // the route's name
	kindHeader               // a request header
	kindParam                // a path parameter ("/users/{id}")
	kindQuery                // a query argument
	kindCtx                  // a per-request value (Context.Value, gw.ctx)
)

type part struct {
	kind kind
	name string
}

// Key is a compiled key specification. It is immutable and safe for
// concurrent use.
type Key struct {
	parts []part
	spec  []string
}

// Parse compiles specs, each one of:
//
//	consumer       the authenticated consumer's name (set by an auth step)
//	ip             the client IP (the peer, or X-Forwarded-For from a trusted proxy)
//	route          the route's name
//	header:NAME    the value of request header NAME (its first line)
//	param:NAME     the value of path parameter NAME ("/users/{id}": param:id)
//	query:NAME     the value of query argument NAME
//	ctx:NAME       a per-request value a step set (gw.ctx.set("NAME", ...)):
//	               a string, number or boolean
//
// Several specs make one key of all their values. Errors name the index of
// the spec at fault when there are several.
func Parse(specs []string) (*Key, error) {
	if len(specs) == 0 {
		return nil, errors.New(`needs at least one of "consumer", "ip", "route", "header:NAME", "param:NAME", "query:NAME", "ctx:NAME"`)
	}
	k := &Key{spec: append([]string(nil), specs...)}
	var errs []string
	seen := map[string]bool{}
	for i, s := range specs {
		p, err := parsePart(s)
		if err == nil && seen[s] {
			err = errors.New(strconv.Quote(s) + " is given twice")
		}
		seen[s] = true
		if err != nil {
			if len(specs) > 1 {
				errs = append(errs, "["+strconv.Itoa(i)+"]: "+err.Error())
			} else {
				errs = append(errs, err.Error())
			}
			continue
		}
		k.parts = append(k.parts, p)
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return k, nil
}

func parsePart(s string) (part, error) {
	switch s {
	case "consumer":
		return part{kind: kindConsumer}, nil
	case "ip":
		return part{kind: kindIP}, nil
	case "route":
		return part{kind: kindRoute}, nil
	}
	prefix, name, ok := strings.Cut(s, ":")
	if !ok {
		return part{}, errors.New(`must be "consumer", "ip", "route", "header:NAME", "param:NAME", "query:NAME" or "ctx:NAME", got ` + strconv.Quote(s))
	}
	var k kind
	switch prefix {
	case "header":
		k = kindHeader
		if !config.IsToken(name) {
			return part{}, errors.New("invalid header name " + strconv.Quote(name) + " in " + strconv.Quote(s))
		}
	case "param":
		k = kindParam
	case "query":
		k = kindQuery
	case "ctx":
		k = kindCtx
	default:
		return part{}, errors.New(`unknown kind ` + strconv.Quote(prefix) + ` in ` + strconv.Quote(s) + `: must be "header", "param", "query" or "ctx"`)
	}
	if name == "" {
		return part{}, errors.New(strconv.Quote(s) + " needs a name after the colon")
	}
	return part{kind: k, name: name}, nil
}

// String returns the specification, parts joined with ",".
func (k *Key) String() string { return strings.Join(k.spec, ",") }

// Spec returns the specification as given (a copy).
func (k *Key) Spec() []string { return append([]string(nil), k.spec...) }

// Only reports whether the key is exactly the single part spec (such as
// "route").
func (k *Key) Only(spec string) bool { return len(k.spec) == 1 && k.spec[0] == spec }

// Append appends c's key to dst and returns it, with complete = false when
// a part has no value for this request (no consumer, no such header, an
// empty value): that part is written as "-", so that every request
// missing it shares one key. It allocates nothing once dst has grown to
// the key's size.
func (k *Key) Append(dst []byte, c *plugin.Context) (key []byte, complete bool) {
	complete = true
	for i := range k.parts {
		p := &k.parts[i]
		n := len(dst)
		var ok bool
		switch p.kind {
		case kindConsumer:
			if c.Consumer != nil {
				dst, ok = appendString(dst, c.Consumer.Name)
			}
		case kindIP:
			dst, ok = appendAddr(dst, c.ClientIP())
		case kindRoute:
			dst, ok = appendString(dst, c.RouteName())
		case kindHeader:
			dst, ok = appendBytes(dst, c.Request.Header.Peek(p.name))
		case kindParam:
			dst, ok = appendBytes(dst, c.Params.Get(p.name))
		case kindQuery:
			dst, ok = appendBytes(dst, c.Request.URI().QueryArgs().Peek(p.name))
		case kindCtx:
			dst, ok = appendValue(dst, c.Value(p.name))
		}
		if !ok {
			dst = append(dst[:n], '-')
			complete = false
		}
	}
	return dst, complete
}

func appendBytes(dst, v []byte) ([]byte, bool) {
	if len(v) == 0 {
		return dst, false
	}
	dst = strconv.AppendInt(dst, int64(len(v)), 10)
	return append(append(dst, ':'), v...), true
}

func appendString(dst []byte, v string) ([]byte, bool) {
	if v == "" {
		return dst, false
	}
	dst = strconv.AppendInt(dst, int64(len(v)), 10)
	return append(append(dst, ':'), v...), true
}

func appendAddr(dst []byte, a netip.Addr) ([]byte, bool) {
	if !a.IsValid() {
		return dst, false
	}
	// The text of an address is at most 45 bytes: write it, then its
	// length in front, without a second buffer.
	var buf [64]byte
	return appendBytes(dst, a.AppendTo(buf[:0]))
}

// appendValue writes a per-request value: a string, bytes, a number (Lua
// numbers are float64) or a boolean; other kinds count as missing.
func appendValue(dst []byte, v any) ([]byte, bool) {
	var buf [32]byte
	switch x := v.(type) {
	case string:
		return appendString(dst, x)
	case []byte:
		return appendBytes(dst, x)
	case bool:
		return appendBytes(dst, strconv.AppendBool(buf[:0], x))
	case int:
		return appendBytes(dst, strconv.AppendInt(buf[:0], int64(x), 10))
	case int64:
		return appendBytes(dst, strconv.AppendInt(buf[:0], x, 10))
	case float64:
		return appendBytes(dst, strconv.AppendFloat(buf[:0], x, 'g', -1, 64))
	}
	return dst, false
}
