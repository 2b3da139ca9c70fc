package template

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzCompile checks that the compiler never panics, that every accepted
// template expands without panicking, and that a template without "$"
// expands to itself.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"", "plain", "$$", "$", "$1", "${rest}", "${1}", "${", "$(", "$()", "$(header.x)",
		"$(query.a)$(param.b)$(ctx.c)$(consumer.name)$(request.host)",
		"/api/$1?x=$(header.X-Y)", "$(hedaer.x)", "$(request.nope)", "$9$0", "${99}", "a$b", "$(a.b.c)",
	} {
		f.Add(s, uint8(0))
	}
	re := regexp.MustCompile(`^/v1/(?P<rest>[^/]*)/(.*)$`)
	subject := []byte("/v1/users/7")
	caps := Captures{Subject: subject, Index: re.FindSubmatchIndex(subject)}
	f.Fuzz(func(t *testing.T, s string, esc uint8) {
		tm, err := Compile(s, Options{Regexp: re, Escape: Escape(esc % 3)})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		out, _ := tm.Expand(nil, testSource(), caps)
		if !strings.Contains(s, "$") && string(out) != s {
			t.Fatalf("Expand(%q) = %q, want the text itself", s, out)
		}
		if st, ok := tm.Static(); ok && st != string(out) {
			t.Fatalf("Static(%q) = %q but Expand = %q", s, st, out)
		}
	})
}
