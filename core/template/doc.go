// Package template expands the value templates of the transformation
// plugins (request-transformer, response-transformer, redirect): text with
// references to the current request, compiled once at load time and
// expanded per request without allocating.
//
// # Syntax
//
//	$(header.NAME)    a request header (case-insensitive name)
//	$(query.NAME)     a query argument
//	$(param.NAME)     a route parameter: paths = ["/users/{id}"] gives $(param.id)
//	$(consumer.name)  the authenticated consumer's name
//	$(ctx.NAME)       a per-request value set by an earlier step or a script
//	$(request.host)   the request's host; also request.path, request.method,
//	                  request.scheme and request.query (the raw query, no "?")
//	$1 .. $9          a capture group of the plugin's regex ($0: the whole match)
//	${N} ${name}      a capture group by number (any) or by name (?P<name>...)
//	$$                a literal "$"
//
// A capture number is one digit: "$10" is group 1 followed by "0"; write
// ${10} for group ten.
//
// Every other "$" is a compile error, so that a typo never reaches a
// request as literal text: the error gives the offset and, for an unknown
// source or capture name, the closest valid one ("did you mean ...").
//
// # Missing values
//
// A reference whose value is absent or empty expands to the empty string;
// Expand reports it through its second result, so a plugin can choose to
// skip a header rather than send it empty (Kong's request-transformer adds
// nothing for an unset template value; nginx expands an unset variable to
// "").
//
// # Escaping
//
// Values are copied as they are by default. Options.Escape makes Expand
// percent-encode the values of $(...) references (never the literal text
// and never regex captures, which come from the already normalized path
// and keep their "/"): EscapePath for a path segment, EscapeQuery for a
// query component. A value placed in a header must not carry CR, LF or
// NUL: check the expansion with ValidHeaderValue before setting it.
//
// # Concurrency
//
// A Template is immutable after Compile and may be expanded by any number
// of goroutines at once. Expand only reads through the Source for the
// duration of the call.
package template
