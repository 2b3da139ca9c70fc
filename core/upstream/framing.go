package upstream

import (
	"bufio"
	"bytes"

	"github.com/valyala/fasthttp"
)

// readHeader reads a response's header. fasthttp refuses a
// Transfer-Encoding other than chunked; RFC 9112 §6.3 (rule 4) says that a
// response whose transfer codings do not end in chunked has a body that
// lasts until the server closes the connection, whatever Content-Length
// says. Such a header is read again without its Transfer-Encoding and
// Content-Length lines, so that the body is read until the connection
// ends (the connection is then not reused), and passed on as received.
// A chunked body under another coding ("gzip, chunked") stays refused: the
// gateway can frame it but not undo the other coding, and must not pass
// it on as if it were plain.
func readHeader(resp *fasthttp.Response, br *bufio.Reader) error {
	err := resp.Header.Read(br)
	if err == nil {
		return nil
	}
	b, _ := br.Peek(br.Buffered())
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return err
	}
	block := b[:end+4]
	if !closeDelimited(block) {
		return err
	}
	clean := make([]byte, 0, len(block))
	for rest := block; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n') + 1
		line := rest[:i]
		rest = rest[i:]
		if name, ok := fieldName(line); ok && (bytes.EqualFold(name, []byte("Transfer-Encoding")) || bytes.EqualFold(name, []byte("Content-Length"))) {
			continue
		}
		clean = append(clean, line...)
	}
	resp.Header.Reset()
	resp.Header.SetNoDefaultContentType(true)
	if resp.Header.Read(bufio.NewReaderSize(bytes.NewReader(clean), len(clean)+16)) != nil {
		return err
	}
	if _, derr := br.Discard(len(block)); derr != nil {
		return err
	}
	// Without Content-Length or chunked, the body is read to the end of
	// the connection (ContentLength -2), which is then closed.
	resp.Header.SetConnectionClose()
	return nil
}

// closeDelimited reports whether a response header block has
// Transfer-Encoding lines whose last coding is not chunked.
func closeDelimited(block []byte) bool {
	var last []byte
	seen := false
	for rest := block; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n') + 1
		line := rest[:i]
		rest = rest[i:]
		name, ok := fieldName(line)
		if !ok || !bytes.EqualFold(name, []byte("Transfer-Encoding")) {
			continue
		}
		seen = true
		v := line[bytes.IndexByte(line, ':')+1:]
		for _, c := range bytes.Split(v, []byte(",")) {
			if j := bytes.IndexByte(c, ';'); j >= 0 {
				c = c[:j]
			}
			if c = bytes.TrimSpace(c); len(c) > 0 {
				last = c
			}
		}
	}
	return seen && !bytes.EqualFold(last, []byte("chunked"))
}

// fieldName returns the name of a header line ("Name: value\r\n").
func fieldName(line []byte) ([]byte, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return nil, false
	}
	return bytes.TrimRight(line[:i], " \t"), true
}
