package config

import (
	"strings"
	"testing"
)

func TestTracingConfig(t *testing.T) {
	cfg, err := Parse("t.toml", []byte(""))
	if err != nil || !cfg.Tracing.Enabled || cfg.Tracing.SamplingRatio != 1 {
		t.Fatalf("defaults: %+v, %v; want enabled, ratio 1", cfg.Tracing, err)
	}
	cfg, err = Parse("t.toml", []byte("[tracing]\nenabled = false\nsampling_ratio = 0.25\n"))
	if err != nil || cfg.Tracing.Enabled || cfg.Tracing.SamplingRatio != 0.25 {
		t.Fatalf("got %+v, %v", cfg.Tracing, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"[tracing]\nsampling_ratio = 1.5\n", "t.toml:2: tracing.sampling_ratio: must be between 0 and 1, got 1.5"},
		{"[tracing]\nsampling_ratio = -1\n", "t.toml:2: tracing.sampling_ratio: must be between 0 and 1, got -1"},
		{"[tracing]\nsampling_ratio = nan\n", "tracing.sampling_ratio: must be between 0 and 1, got NaN"},
		{"[tracing]\nratio = 0.5\n", "t.toml:2: tracing.ratio: unknown key"},
	} {
		_, err := Parse("t.toml", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}
