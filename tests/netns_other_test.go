//go:build !linux

package tests

import "testing"

// inPrivateNetwork skips: network namespaces are Linux's.
func inPrivateNetwork(t *testing.T, _ map[string]string) bool {
	t.Skip("needs a Linux network namespace")
	return false
}
