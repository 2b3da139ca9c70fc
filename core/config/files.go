package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
)

// File paths written in a configuration (scripts, certificates, CA files,
// JWKS files, "file:" secrets, the cache directory, lua.dir) are relative
// to the folder of the configuration file, not to the working directory:
// `moongate run -c /etc/moongate/moongate.toml` finds "scripts/auth.lua"
// in /etc/moongate/scripts whatever folder it was started from, as a
// systemd unit or a shell would start it. Absolute paths are kept.
//
// A string field (or list of strings) is a file path when its tag says
// so: `toml:"cert,path"`. The decoder resolves such fields once decoded,
// defaults included, in the file's sections and in the tables plugins
// decode with Table.Decode; the rest of moongate sees the resolved path.
// A path is joined to the file's folder as the file was named ("conf" for
// -c conf/moongate.toml), so it stays relative to the working directory
// when the file's name is: the process never changes directory.

// tagOption reports whether a struct tag's toml options (after the
// name) hold opt: `toml:"token,secret"` has "secret".
func tagOption(tag reflect.StructTag, opt string) bool {
	_, opts, _ := strings.Cut(tag.Get("toml"), ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == opt {
			return true
		}
	}
	return false
}

// ResolvePath returns p as seen from the folder of the configuration file
// named file: p itself when it is absolute or empty, or when file is "".
func ResolvePath(file, p string) string {
	if p == "" || file == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(file), p)
}

// Path returns p as seen from the folder of c's file (see ResolvePath),
// for paths that code outside this package reads from a configuration
// without a `path` tag.
func (c *Config) Path(p string) string { return ResolvePath(c.File, p) }

// resolvePaths resolves, in place, every string field tagged `path`
// reachable from v (structs, pointers, slices, maps), against the folder
// of file.
func resolvePaths(file string, v reflect.Value) {
	if file == "" {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			resolvePaths(file, v.Elem())
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.String {
			return // a list of strings without a path tag
		}
		for i := 0; i < v.Len(); i++ {
			resolvePaths(file, v.Index(i))
		}
	case reflect.Map:
		// Map values are not addressable, and no map of the configuration
		// holds paths.
	case reflect.Struct:
		if v.Type() == tableType || v.Type() == timeType {
			return
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if !tagOption(f.Tag, "path") {
				resolvePaths(file, fv)
				continue
			}
			switch {
			case fv.Kind() == reflect.String && fv.CanSet():
				fv.SetString(ResolvePath(file, fv.String()))
			case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
				for j := 0; j < fv.Len(); j++ {
					e := fv.Index(j)
					e.SetString(ResolvePath(file, e.String()))
				}
			}
		}
	}
}

// CannotRead returns the reason to give for a file of the configuration
// that could not be read: "cannot read PATH: REASON", the reason without
// the path repeated ("no such file or directory", "permission denied").
func CannotRead(path string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return "cannot read " + path + ": " + err.Error()
}
