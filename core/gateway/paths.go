package gateway

const (
	msgControl = "invalid characters in path"
	msgStrict  = "path parameters (';') and backslashes are not accepted in paths"
)

// checkPath applies the path policy, once, before routing, to the request
// target as received (checkTarget; the normalized path p holds nothing
// the target did not), and returns why the request is refused, or "".
// With case_insensitive_paths it lower-cases the path in place, so
// routing, every step and the upstream see the same path.
func (rt *Runtime) checkPath(target, p []byte) string {
	if msg := rt.checkTarget(target); msg != "" {
		return msg
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
