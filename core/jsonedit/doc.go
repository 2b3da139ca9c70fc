// Package jsonedit edits fields of a JSON document by dotted paths, for
// the request-transformer and response-transformer plugins, without
// decoding the document into Go values.
//
// # Paths
//
// A path is a dotted list of keys into nested objects: "user.address.city".
// A backslash escapes a dot or a backslash that belongs to a key:
// `a\.b` is the single key "a.b". A segment made of digits ("items.0.name")
// is an array index when it meets an array, and a key when it meets an
// object; indexes count from 0 and an index past the end is absent.
// Missing intermediate values are created as objects (never arrays) by
// Add, Set and Append; an intermediate null counts as missing; an
// intermediate of another kind (a string, a number) makes the operation do
// nothing.
//
// # Operations
//
// Add (only where absent), Set (create or overwrite), Replace (only where
// present), Append (to an array; a single value becomes [old, new]; an
// absent one [new], as Kong's request-transformer does), Remove and
// Rename (to another key name in the same object, keeping its place).
// Operations run in the order given, each seeing the result of the ones
// before, exactly as if they were applied one after the other.
//
// A key that an operation touches appears exactly once in the result:
// JSON parsers disagree on duplicate keys (some keep the first, most the
// last), so Remove deletes every occurrence, and Set, Replace, Append and
// Rename act on the last occurrence and drop the others. A client cannot
// slip a second "role" past a Remove or a Set.
//
// # Values
//
// A value is a JSON literal fixed at load time (JSON), a string fixed at
// load time (String), or a string given per request (Arg): the plugin
// expands a template and Apply writes it as a correctly escaped JSON
// string.
//
// # How it works
//
// Apply reads the document once. Objects and arrays that no operation
// reaches are checked and copied byte for byte, so key order, number
// formatting and white space survive; an object or array that an operation
// reaches is split into members, edited as a list and written back, its
// untouched members with their original bytes. Malformed JSON is an error
// (the plugin passes such a body through untouched); a document that is a
// bare string, number, boolean or null is ErrNotContainer.
//
// A Program is immutable and safe for concurrent use; its scratch space is
// pooled, so Apply allocates nothing in steady state.
package jsonedit
