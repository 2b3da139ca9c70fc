package gateway

// checkPath applies the path policy to the normalized path, once, before
// routing, and returns why the request is refused, or "". With
// case_insensitive_paths it lower-cases the path in place, so routing,
// every step and the upstream see the same path.
func (rt *Runtime) checkPath(p []byte) string {
	if hasControl(p) {
		return "invalid characters in path"
	}
	if rt.strictPaths {
		for _, c := range p {
			if c == ';' || c == '\\' {
				return "path parameters (';') and backslashes are not accepted in paths"
			}
		}
	}
	if rt.foldPaths {
		for i, c := range p {
			if c >= 'A' && c <= 'Z' {
				p[i] = c + 'a' - 'A'
			}
		}
	}
	return ""
}
