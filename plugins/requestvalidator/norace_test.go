//go:build !race

package requestvalidator

const raceEnabled = false
