package config

import (
	"errors"
	"io/fs"
	"os"
	"strings"
)

// Secret is a secret string of the configuration (an API key, a password,
// a signing key). It is written inline, as "${ENV}" (like every string),
// or as "file:/path/to/file": the file's contents, without a final line
// break, are the secret. A relative "file:" path is relative to the
// folder of the configuration file (see ResolvePath).
//
// A Secret never shows its value: String, GoString and MarshalText print
// "[secret]", and a problem with it (a file that cannot be read) is
// reported without the value. Read the value with Value.
type Secret struct {
	value   string
	problem string
}

// DecodeConfig implements ValueDecoder. It never fails: the decoder would
// echo the raw value in its error. What is wrong is kept for Problem.
// Decoded this way (outside a configuration file), a relative "file:"
// path is relative to the working directory.
func (s *Secret) DecodeConfig(v any) error {
	s.decode("", v)
	return nil
}

// decode reads v for the configuration file named file.
func (s *Secret) decode(file string, v any) {
	*s = Secret{}
	str, ok := v.(string)
	if !ok {
		s.problem = "expected a string (a secret, \"${ENV}\" or \"file:/path\"), got " + typeName(v)
		return
	}
	if path, ok := strings.CutPrefix(str, "file:"); ok {
		if path == "" {
			s.problem = `"file:" needs a path, such as "file:/run/secrets/api-key"`
			return
		}
		path = ResolvePath(file, path)
		data, err := os.ReadFile(path)
		if err != nil {
			reason := err.Error()
			var pe *fs.PathError
			if errors.As(err, &pe) {
				reason = pe.Err.Error()
			}
			s.problem = "cannot read secret file " + quote(path) + ": " + reason
			return
		}
		str = strings.TrimRight(string(data), "\r\n")
		if str == "" {
			s.problem = "secret file " + quote(path) + " is empty"
			return
		}
	}
	s.value = str
}

// Value returns the secret.
func (s Secret) Value() string { return s.value }

// Empty reports whether the secret is "" (not given, or given empty).
func (s Secret) Empty() bool { return s.value == "" }

// Problem returns why the secret could not be read, or "". The reason
// never contains the secret.
func (s Secret) Problem() string { return s.problem }

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string { return "[secret]" }

// GoString implements fmt.GoStringer without revealing the value.
func (s Secret) GoString() string { return "[secret]" }

// MarshalText keeps the value out of JSON and text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte("[secret]"), nil }

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
