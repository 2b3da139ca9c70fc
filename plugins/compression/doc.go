// Package compression is the "compression" plugin: it compresses
// responses with zstd, brotli or gzip, whichever the client's
// Accept-Encoding weighs highest (RFC 9110 §12.5.3; on equal weights the
// step's order), for the configured content types and from a minimum
// size, and adds Vary: Accept-Encoding to every response whose body could
// have been compressed.
//
//	[[plugins]]
//	name = "compression"
//	[plugins.config]
//	encodings = ["zstd", "br", "gzip"]      # default, in order of preference
//	levels = { gzip = 5, br = 4, zstd = 3 } # default
//	min_size = "1KB"                        # default
//	types = ["text/*", "application/json"]  # default: text, JSON, XML, JS, SVG...
//	streaming = false                       # live streams (SSE, NDJSON) too, flushed per chunk
//
// It never compresses a body that already has a Content-Encoding, a 206,
// 304 or 204, an answer to HEAD, a response marked Cache-Control:
// no-transform, or a live stream (unless streaming = true); a large
// streamed body is compressed as it streams. A strong ETag becomes weak.
//
// With the cache: put the compression step after the cache step. The
// cache then stores each encoding as a variant (Vary: Accept-Encoding),
// compressed once per variant, and a hit costs no compression; placed
// before, the cache stores the identity body once and every hit is
// compressed again. docs/plugins-transform.md has the trade-off measured.
package compression
