//go:build !race

package jsonedit

const raceEnabled = false
