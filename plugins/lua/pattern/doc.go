// Package pattern matches Lua 5.1 patterns (the Lua 5.1 reference
// manual, §5.4.1) under a step budget, so that a call can be stopped at
// a deadline whatever the pattern and the subject.
//
// Backtracking patterns can take time exponential in the length of the
// subject (string.rep("a*", 20) .. "b" on a run of a's), or quadratic for
// everyday idioms (the trim "^%s*(.-)%s*$" on a long run of spaces). A
// matcher that runs each call to completion holds its goroutine for as
// long as that takes. Here every unit of work (a byte compared, an
// alternative tried, a start position) is a step, and every CheckEvery
// steps the matcher calls the Budget's Check function: when it returns an
// error, matching stops and Find returns that error.
//
// The items of a pattern: single characters; '.' (any byte); the classes
// %a %c %d %l %p %s %u %w %x %z and their upper-case complements (ASCII,
// as in the C locale); %x for any non-alphanumeric x (x itself); sets
// [...] and [^...] with ranges and classes; the quantifiers '*', '+'
// (longest), '-' (shortest) and '?' after a single character class;
// captures (...) and position captures (), at most MaxCaptures; the
// back-references %1 to %9; %bxy (balanced x...y); %f[set] (frontier,
// which Lua 5.1 implements and the 5.2 manual documents: the position
// between a byte not in set and a byte in set, the ends of the subject
// counting as '\0'); '^' at the start of the pattern and '$' at its end
// anchor the match.
//
// Where the manual leaves a case undefined, this package does what
// gopher-lua's matcher does, so that scripts behave as before:
//   - a range in a set needs a plain character at both ends, or it
//     matches nothing: [%a-z] matches nothing, nor does [a-c-e] (its
//     second range starts with the first); a '-' right after another
//     '-' in a set is ignored;
//   - a quantifier after anything but a single character class (a
//     capture, a back-reference, %b, %f, another quantifier) is a plain
//     character;
//   - a back-reference to a position capture matches the empty string.
//
// Malformed patterns are errors with Lua 5.1's messages (a '%' at the end,
// a '[' without ']', %b without its two characters, %f without a set, an
// unclosed or unopened capture, %0). A back-reference to a capture that
// is not closed at that point is an error when matching reaches it.
//
// Backtracking nests one level per quantified item whose alternatives
// are still open; past MaxDepth levels matching fails with "pattern too
// complex" instead of growing the Go stack without bound.
package pattern
