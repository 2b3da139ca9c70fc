// Package transformstep holds what the transformation steps share
// (request-transformer, response-transformer, redirect): the data of the
// current request as a template source (Source, over a plugin.Context),
// the header, query and JSON body operations of the two transformers,
// compiled once from their TOML (Compile) and applied per request without
// allocating, and a log limiter for the problems a step meets on every
// request of a bad client (Throttle).
//
// It builds on core/template (value templates) and core/jsonedit (JSON
// edits by dotted path); docs/plugins-transform.md is the user's guide.
package transformstep
