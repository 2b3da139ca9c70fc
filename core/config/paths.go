package config

import (
	"strconv"
	"strings"
)

// checkPathCase returns why a route path can never match under
// [server] case_insensitive_paths, or "".
func (c *Config) checkPathCase(p string) string {
	if !c.Server.CaseInsensitivePaths {
		return ""
	}
	lit := p
	// Parameter names keep their case; only literal text is matched.
	for {
		i := strings.IndexByte(lit, '{')
		j := strings.IndexByte(lit, '}')
		if i < 0 || j < i {
			break
		}
		lit = lit[:i] + lit[j+1:]
	}
	if strings.ToLower(lit) != lit {
		return "must be lower case with [server] case_insensitive_paths = true (paths are lower-cased before routing), got " + strconv.Quote(p)
	}
	return ""
}
