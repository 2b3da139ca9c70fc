//go:build race

package limitkey

const raceEnabled = true
