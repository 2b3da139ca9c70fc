package template

import (
	"regexp"
	"testing"
)

func BenchmarkExpand(b *testing.B) {
	re := regexp.MustCompile(`^/v1/(.*)$`)
	subject := []byte("/v1/users/7")
	caps := Captures{Subject: subject, Index: re.FindSubmatchIndex(subject)}
	var src Source = &zeroSource{v: []byte("alice")}
	for _, tc := range []struct {
		name, tmpl string
		opts       Options
	}{
		{"static", "application/json", Options{}},
		{"header", "Bearer $(header.x-token)", Options{}},
		{"path-rewrite", "/api/$1", Options{Regexp: re}},
		{"redirect", "https://$(request.host)/new/$1?user=$(consumer.name)", Options{Regexp: re, Escape: EscapeQuery}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tm := MustCompile(tc.tmpl, tc.opts)
			dst := make([]byte, 0, 256)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst, _ = tm.Expand(dst[:0], src, caps)
			}
		})
	}
}

// BenchmarkRewriteWithRegexp is a path rewrite as the plugin does it: the
// regex match (Go's regexp allocates its index slice) and the expansion.
func BenchmarkRewriteWithRegexp(b *testing.B) {
	re := regexp.MustCompile(`^/v1/(.*)$`)
	tm := MustCompile("/api/$1", Options{Regexp: re})
	var src Source = &zeroSource{}
	subject := []byte("/v1/users/7/orders")
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		idx := re.FindSubmatchIndex(subject)
		dst, _ = tm.Expand(dst[:0], src, Captures{Subject: subject, Index: idx})
	}
}
