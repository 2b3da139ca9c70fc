//go:build race

package responsetransformer

const raceEnabled = true
