package gateway

import (
	"runtime"
	"runtime/debug"
)

// Version is the moongate version. `make build` sets it from git
// describe (-ldflags "-X github.com/moongate/moongate/core/gateway.Version=...");
// a plain `go build` leaves it to the version the go command stamped in
// the binary (a pseudo-version from the VCS), or "dev".
var Version = "dev"

// Commit is the VCS revision the binary was built from: set at build
// time like Version, or else read from what the go command stamped
// (vcs.revision); "" when unknown (go build -buildvcs=false, go run
// outside a repository).
var Commit = ""

// BuildInfo describes the running binary.
type BuildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	// Modified reports uncommitted changes in the tree it was built
	// from (vcs.modified).
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go"`
	Platform  string `json:"platform"` // GOOS/GOARCH
}

// VersionInfo returns what is known of the running binary.
func VersionInfo() BuildInfo {
	b := BuildInfo{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	var revision string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if b.Commit == "" {
		b.Commit = revision
	}
	// The stamp's modified flag is about the stamped revision only.
	b.Modified = modified && revision != "" && revision == b.Commit
	return b
}

// String formats b on one line:
// "moongate v1.2.3 (commit 0123abcd..., modified) go1.26.1 linux/amd64".
func (b BuildInfo) String() string {
	commit := b.Commit
	if commit == "" {
		commit = "unknown"
	}
	s := "moongate " + b.Version + " (commit " + commit
	if b.Modified {
		s += ", modified"
	}
	return s + ") " + b.GoVersion + " " + b.Platform
}
