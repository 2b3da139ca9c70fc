//go:build race

package requestvalidator

const raceEnabled = true
