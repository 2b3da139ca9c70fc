//go:build !race

package responsetransformer

const raceEnabled = false
