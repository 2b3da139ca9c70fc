package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in TOML as a string such as "250ms",
// "30s", "5m" or "1h30m". Zero is written "0s". Negative durations are refused.
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d the way it is written in TOML.
func (d Duration) String() string { return time.Duration(d).String() }

// DecodeConfig implements ValueDecoder.
func (d *Duration) DecodeConfig(v any) error {
	s, ok := v.(string)
	if !ok {
		return WrongType(`a duration string such as "250ms" or "30s"`, v)
	}
	x, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return errors.New(`invalid duration, expected a number with a unit such as "250ms", "30s" or "5m"`)
	}
	if x < 0 {
		return errors.New("duration must not be negative")
	}
	*d = Duration(x)
	return nil
}

// Size is a number of bytes written in TOML as an integer or as a string with
// a unit: "512B", "8KB", "16MB", "1GB" (binary multiples: 1KB = 1024 bytes).
type Size int64

// Int returns s as an int.
func (s Size) Int() int { return int(s) }

// String formats s with the largest unit that divides it exactly.
func (s Size) String() string {
	n := int64(s)
	for _, u := range []struct {
		name string
		mul  int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if n != 0 && n%u.mul == 0 {
			return strconv.FormatInt(n/u.mul, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// DecodeConfig implements ValueDecoder.
func (s *Size) DecodeConfig(v any) error {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return errors.New("size must not be negative")
		}
		*s = Size(x)
		return nil
	case string:
		n, err := ParseSize(x)
		if err != nil {
			return err
		}
		*s = Size(n)
		return nil
	}
	return WrongType(`a size such as "8KB" or "512MB"`, v)
}

// ParseSize parses "512B", "8KB", "16MB", "1GB" or a plain number of bytes.
// Units are case-insensitive; K, M and G without the B are accepted too.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mul := int64(1)
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mul = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New(`invalid size, expected a whole number with an optional unit such as "512B", "8KB", "16MB" or "1GB"`)
	}
	if n > (1<<62)/mul {
		return 0, errors.New("size is too large")
	}
	return n * mul, nil
}

// StringList is a list of strings that may also be written as a single
// string: listen = "0.0.0.0:8080" and listen = ["0.0.0.0:8080", "[::]:8080"]
// are both accepted.
type StringList []string

// DecodeConfig implements ValueDecoder.
func (l *StringList) DecodeConfig(v any) error {
	switch x := v.(type) {
	case string:
		*l = StringList{x}
		return nil
	case []any:
		out := make(StringList, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return &typeError{want: "a string or a list of strings", v: e, inList: true}
			}
			out = append(out, s)
		}
		*l = out
		return nil
	}
	return WrongType("a string or a list of strings", v)
}

// WrongType returns the error a ValueDecoder gives for a value of the wrong
// TOML type: "expected <want>, got <what v is> (<v>)", e.g. "expected a
// string or a list of strings, got an integer (8080)". The decoder prints
// it as it is (it adds no ", got ..." of its own), and leaves the value out
// when it came from the environment.
func WrongType(want string, v any) error { return &typeError{want: want, v: v} }

// typeError is a value of the wrong TOML type.
type typeError struct {
	want   string
	v      any
	inList bool // v is an element of the list given
}

func (e *typeError) Error() string { return e.message(true) }

// message formats the error, with the value when show is true.
func (e *typeError) message(show bool) string {
	got := describe(e.v, show)
	if e.inList {
		got = "a list containing " + got
	}
	if !show && describe(e.v, false) != describe(e.v, true) {
		got += " (value from the environment not shown)"
	}
	return "expected " + e.want + ", got " + got
}

// describe names the TOML type of v, with v itself when show is true and
// v is a short scalar: `an integer (8080)`, `a string ("8080")`.
func describe(v any, show bool) string {
	name := typeName(v)
	if !show {
		return name
	}
	switch x := v.(type) {
	case string:
		if len(x) <= 64 {
			return name + " (" + strconv.Quote(x) + ")"
		}
	case int64:
		return name + " (" + strconv.FormatInt(x, 10) + ")"
	case float64:
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			return name + " (" + strconv.FormatFloat(x, 'g', -1, 64) + ")"
		}
	case bool:
		return name + " (" + strconv.FormatBool(x) + ")"
	case time.Time:
		return name + " (" + x.Format(time.RFC3339Nano) + ")"
	}
	return name
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a datetime"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return "a value"
}
