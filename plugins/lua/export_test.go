package lua

// SetSizeCheckEvery changes how often states are measured, for tests; it
// returns a function restoring the previous value.
func SetSizeCheckEvery(n int) func() {
	old := sizeCheckEvery
	sizeCheckEvery = n
	return func() { sizeCheckEvery = old }
}
