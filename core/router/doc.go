// Package router maps a request's host, method and normalized path to a
// route, with a precedence that does not depend on the order routes are
// written in:
//
//   - hosts: an exact host beats a "*.example.com" wildcard (the longer
//     suffix first), which beats routes without hosts; when no route of a
//     more specific host matches the path, the less specific ones are tried;
//   - paths: an exact path ("/users/me") beats a path with parameters
//     ("/users/{id}"), which beats a prefix ("/users/"); between two of a
//     kind the longer wins (more segments, then literal segments before
//     parameters, first difference first); between equals, the one written
//     first;
//   - methods: a route whose methods do not include the request's is
//     skipped; when routes match the path but none the method, the answer
//     is 405 with the methods that would have matched.
//
// A prefix path ends in "/" and also matches itself without the final
// slash: "/api/" matches "/api", "/api/" and "/api/x/y".
//
// Matching allocates nothing: parameters are slices of the request path.
package router
