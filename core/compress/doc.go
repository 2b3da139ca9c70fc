// Package compress holds what the compression plugin needs around the
// codecs: Accept-Encoding negotiation with q-values (RFC 9110 §12.5.3), a
// content-type matcher for the configured list, and pooled gzip, brotli
// and zstd encoders that compress a body in memory into a caller's buffer
// or a stream chunk by chunk (flushing after each chunk for server-sent
// events when asked).
//
// Codecs: gzip and zstd come from github.com/klauspost/compress, brotli
// from github.com/molecule-man/go-brrr (the brotli library fasthttp itself
// uses, so the module graph gains nothing; pure Go, with Reset and a size
// hint for one-shot bodies).
//
// Negotiate, TypeMatcher.Match and Compressor.Append allocate nothing in
// steady state. A Compressor is safe for concurrent use; a Writer belongs
// to one stream. AppendDecompressed decodes a body with a size limit, for
// a plugin that must edit a compressed upstream response.
package compress
