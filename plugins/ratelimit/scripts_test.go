package ratelimit

import "path/filepath"

// scriptsDir is the repository's scripts folder, absolute: a script path
// in a configuration is relative to the configuration file's folder, and
// the tests write theirs in temporary folders.
var scriptsDir = func() string {
	d, err := filepath.Abs("../../scripts")
	if err != nil {
		panic(err)
	}
	return d
}()
