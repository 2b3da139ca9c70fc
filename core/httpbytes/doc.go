// Package httpbytes holds the small byte-level helpers that the engine and
// the plugins need on HTTP messages, in one place, each allocation-free:
//
//   - ASCII case folding: header names, tokens, media types, schemes and
//     host names compare case-insensitively (RFC 9110 §5.1, §8.3.1).
//     Only A-Z fold: a byte from 0x80 is compared as it is, never as part
//     of a UTF-8 character (bytes.EqualFold would fold "K", U+212A, to
//     "k"; an HTTP token cannot hold it, so it must not match).
//   - Optional whitespace (OWS: spaces and tabs, RFC 9110 §5.6.3).
//   - Comma-separated header lists (RFC 9110 §5.6.1): elements trimmed of
//     OWS, empty elements skipped by the callers that look for a token.
//     Quoted strings are not parsed: a comma inside quotes splits too,
//     which is right for the lists of tokens read here (Connection,
//     Pragma, If-None-Match entity tags have no commas).
//   - Hexadecimal digits, for percent-encoding and hex-encoded secrets.
//   - The port of a Host value, IPv6 literals included.
//
// It imports nothing of moongate and may be used by every package,
// plugins included.
package httpbytes
