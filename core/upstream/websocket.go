package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/internal/reqctx"
	"github.com/valyala/fasthttp"
)

// isWebSocket reports whether the request asks to upgrade to WebSocket
// (RFC 6455 §4.1): "Upgrade: websocket" and "upgrade" among the
// Connection tokens.
func isWebSocket(h *fasthttp.RequestHeader) bool {
	if !httpbytes.EqualFold(httpbytes.TrimOWS(h.Peek("Upgrade")), "websocket") {
		return false
	}
	return httpbytes.HasToken(h.Peek("Connection"), "upgrade")
}

// restoreUpgrade sets the upgrade headers of a WebSocket handshake in
// their canonical form: on a route that allows WebSocket they are meant
// for the upstream (PrepareClientHeaders keeps them, without the other
// Connection tokens).
func restoreUpgrade(h *fasthttp.RequestHeader) {
	h.Set("Connection", "Upgrade")
	h.Set("Upgrade", "websocket")
}

var errNoHijack = errors.New("websocket: no client connection to hand over")

// websocket makes the upgrade request to t on a connection of its own.
// When the target answers 101 the response goes to the client through the
// response phase, then the client connection is taken over from the
// server and bytes are copied both ways until either side closes. Any
// other answer is passed on as an ordinary response.
func (u *Upstream) websocket(c *reqctx.Context, t *Target, o options, end time.Time) error {
	fc := c.Fast
	if fc == nil {
		return classify(errNoHijack, false)
	}
	wait := time.Until(end)
	if wait <= 0 {
		return classify(fasthttp.ErrTimeout, false)
	}
	conn, err := t.dialRaw(context.Background(), min(o.connectTimeout, wait))
	if err != nil {
		return connectFailed(err, false)
	}
	ok := false
	defer func() {
		if !ok {
			conn.Close()
		}
	}()
	if err := conn.SetDeadline(end); err != nil {
		return classify(err, false)
	}
	bw := bufio.NewWriter(conn)
	if err := c.Request.Write(bw); err != nil {
		return classify(err, true)
	}
	if err := bw.Flush(); err != nil {
		return classify(err, true)
	}
	br := bufio.NewReaderSize(conn, 16<<10)
	resp := c.Response
	resp.Reset()
	resp.Header.SetNoDefaultContentType(true)
	if err := readResponseHeader(resp, br); err != nil {
		if !time.Now().Before(end) {
			err = fasthttp.ErrTimeout
		}
		return classify(err, true)
	}
	if resp.StatusCode() != fasthttp.StatusSwitchingProtocols {
		// Refused: pass the answer on. The connection is not reused.
		if !c.Request.Header.IsHead() && resp.StatusCode() != 204 && resp.StatusCode() != 304 {
			if err := resp.ReadBody(br, u.cfg.MaxResponseSize.Int()); err != nil {
				return classify(err, true)
			}
		}
		resp.SetConnectionClose()
		return nil
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return classify(err, true)
	}
	// The 101 carries hop-by-hop headers meant for the client.
	stripResponseHopByHop(&resp.Header)
	resp.Header.Set("Connection", "Upgrade")
	resp.Header.Set("Upgrade", "websocket")
	ok = true
	fc.Hijack(func(client net.Conn) {
		defer conn.Close()
		// A step of the response phase may have replaced the 101.
		if fc.Response.StatusCode() != fasthttp.StatusSwitchingProtocols {
			return
		}
		pipe(client, conn, br)
	})
	return nil
}

// pipe copies bytes between the client and the upstream until either
// side closes, then closes both.
func pipe(client, upstream net.Conn, upstreamReader io.Reader) {
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			client.Close()
			upstream.Close()
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(client, upstreamReader) //nolint:errcheck // ends when either side closes
		closeBoth()
	}()
	io.Copy(upstream, client) //nolint:errcheck // ends when either side closes
	closeBoth()
	<-done
}
