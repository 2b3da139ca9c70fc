//go:build race

package concurrencylimit

const raceEnabled = true
