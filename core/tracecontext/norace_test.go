//go:build !race

package tracecontext

const raceEnabled = false
