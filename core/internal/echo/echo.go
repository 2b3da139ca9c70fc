package echo

import (
	"encoding/json"
	"net"

	"github.com/valyala/fasthttp"
)

// Reply is the JSON body the echo server answers with.
type Reply struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query,omitempty"`
	Host    string            `json:"host"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body,omitempty"`
	From    string            `json:"from"`
}

// Handler answers with a Reply describing the request.
func Handler(ctx *fasthttp.RequestCtx) {
	r := Reply{
		Method:  string(ctx.Method()),
		Path:    string(ctx.Request.URI().PathOriginal()),
		Query:   string(ctx.URI().QueryString()),
		Host:    string(ctx.Host()),
		Headers: map[string]string{},
		Body:    string(ctx.PostBody()),
		From:    ctx.RemoteAddr().String(),
	}
	for k, v := range ctx.Request.Header.All() {
		name := string(k)
		if prev, ok := r.Headers[name]; ok {
			r.Headers[name] = prev + ", " + string(v)
			continue
		}
		r.Headers[name] = string(v)
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	ctx.SetContentType("application/json")
	ctx.SetBody(append(b, '\n'))
}

// Server is a running echo server.
type Server struct {
	srv *fasthttp.Server
	ln  net.Listener
}

// Start listens on addr and serves in the background.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{srv: &fasthttp.Server{Handler: Handler, Name: "moongate-echo"}, ln: ln}
	go s.srv.Serve(ln) //nolint:errcheck // ends when the listener closes
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.srv.Shutdown()
	s.ln.Close() // in case Serve had not started: it then returns at once
	return err
}
