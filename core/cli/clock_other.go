//go:build !linux

package cli

func monotonicUsec() (int64, bool) { return 0, false }
