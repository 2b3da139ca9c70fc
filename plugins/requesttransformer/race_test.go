//go:build race

package requesttransformer

const raceEnabled = true
