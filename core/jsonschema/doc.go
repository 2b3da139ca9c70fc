// Package jsonschema validates JSON request bodies against a JSON Schema,
// for the request-validator plugin. It wraps
// github.com/santhosh-tekuri/jsonschema/v6 (drafts 4 to 2020-12, Go's
// linear-time regexp for "pattern", schema compiled once) and adds what a
// gateway needs around it:
//
//   - schemas come from an inline TOML table (CompileValue), JSON text
//     (Compile) or a file (CompileFile), and are compiled at load time with
//     errors that say where the schema is wrong;
//   - a schema cannot reach the network: a $ref or $schema to an http(s)
//     URL is refused at compile time (the standard meta-schemas are built
//     in), and a file schema may only reference files in its own folder
//     (an inline schema none);
//   - "format" is asserted ("format": "email" rejects a non-address), as
//     users of a gateway validator expect, although draft 2019-09 and later
//     make it an annotation by default;
//   - Validate takes the body and a size limit, and returns the violations
//     as (JSON pointer, message) pairs ready for a 400 response, at most
//     MaxViolations of them, in a stable order.
//
// A *Schema is immutable and safe for concurrent use.
package jsonschema
