// Package accesslog formats and writes access-log lines: one line per
// request, as JSON, as nginx's "combined" format, or as a template of
// named fields, handed to a batching Writer.
//
// It is the library under the access-log plugin and depends on the
// standard library only. The plugin fills a Record from the request
// context after the response is written, appends the line with one of the
// formats into a buffer it owns, and hands the line to a Writer:
//
//	var buf []byte // per request, pooled by the caller
//	buf = accesslog.AppendJSON(buf[:0], &rec)
//	w.Write(buf)
//
// Formatting and writing allocate nothing in steady state. A Record only
// references the caller's memory and is used synchronously: nothing in
// this package keeps a Record or a []byte from it after a call returns.
//
// Secrets: the formats write what the Record holds and nothing else; the
// caller puts no credential header in it, and redacts credentials named in
// the query with AppendRedactedQuery before filling Record.Query.
//
// The Writer never blocks its callers: when the output is slower than the
// traffic and the memory bound is reached, lines are dropped and counted
// (see Writer). Every format escapes the bytes of the request, so a client
// can neither break a line in two nor forge a field.
package accesslog

//go:generate go test -count=1 -run ^TestDocsVariables$ -update
