// Package deadline spares a connection most of its deadline updates.
//
// A proxy sets a socket deadline for each request: now plus a timeout,
// so a little later than the one before. Each update moves a runtime
// timer (about 100 ns, more than the rest of some steps). Lazy sets the
// deadline a little later than asked, by a slack of 1/32 of the time
// left (at most a second), and skips every later update that asks for a
// deadline within that slack: a timeout then fires up to 1/32 of itself
// late, never early.
package deadline
