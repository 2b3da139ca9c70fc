//go:build race

package aiproxy

const raceEnabled = true
