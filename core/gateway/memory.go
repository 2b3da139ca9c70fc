package gateway

import "runtime/debug"

// releaseMemory gives the memory a configuration load used and no longer
// needs back to the OS, at once: the parse of a large file (a million
// [[consumers]] is about a gigabyte of TOML tree for a moment) would
// otherwise stay in the process's RSS until the runtime's scavenger
// returns it, minutes later. It costs one garbage collection, made when a
// runtime is built at start or swapped in by a reload, and when the
// runtime a reload replaced has been closed.
func releaseMemory() { debug.FreeOSMemory() }
