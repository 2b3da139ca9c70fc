// Package rawjson reads and edits JSON text in place, without decoding it
// into Go values and without allocating: the streaming path of the AI
// proxy looks at a few fields of every provider event (a delta's text, a
// finish reason, the usage numbers) and copies JSON string literals from
// one API's event into the other's as they are, still escaped.
//
// Every value the iterators hand out has been checked to be well-formed
// JSON (strings with valid escapes and no control characters, numbers in
// JSON syntax, balanced containers up to MaxDepth), so copying it into an
// output document keeps that document valid. Values keep their original
// bytes, including insignificant whitespace inside containers; AppendCompact
// removes it where a value must fit on one line (an SSE data line).
//
// Slices returned by this package point into the caller's input; they are
// valid as long as the input is.
package rawjson
