package lua

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
)

func init() {
	plugin.RegisterCommand("script", plugin.Command{
		Summary: "run or test Lua scripts without a gateway: script run FILE [flags] | script test [DIR|FILE...]",
		Run:     scriptCmd,
	})
}

func scriptCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: moongate script run FILE [flags]   (run one request through a script; -h for flags)")
		fmt.Fprintln(stderr, "       moongate script test [DIR|FILE...]  (run *_test.lua files; default scripts)")
		return 2
	}
	switch args[0] {
	case "run":
		return runScriptCmd(args[1:], stdout, stderr)
	case "test":
		paths := args[1:]
		if len(paths) == 0 {
			paths = []string{"scripts"}
		}
		if s := RunTests(paths, stdout); s.Failed > 0 {
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "moongate script: unknown subcommand %q (run, test)\n", args[0])
	return 2
}

// listFlag collects repeated flags.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseHeaders(list []string) ([]Header, error) {
	var out []Header
	for _, h := range list {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("header %q: want \"Name: value\"", h)
		}
		out = append(out, Header{strings.TrimSpace(name), strings.TrimSpace(value)})
	}
	return out, nil
}

func runScriptCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("script run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	method := fs.String("method", "GET", "request method")
	path := fs.String("path", "/", "request path, with an optional ?query")
	host := fs.String("host", "localhost", "Host header")
	body := fs.String("body", "", "request body")
	clientIP := fs.String("client-ip", "127.0.0.1", "client address")
	conf := fs.String("conf", "{}", "the step's config table, as JSON")
	dir := fs.String("dir", "", "folder require loads modules from (default: the script's folder)")
	timeout := fs.Duration("timeout", time.Second, "wall-clock deadline of each call")
	maxInstr := fs.Int64("max-instructions", config.DefaultMaxInstructions, "VM instructions each call may run")
	status := fs.Int("status", 200, "status of the synthetic upstream response")
	respBody := fs.String("response-body", "", "body of the synthetic upstream response")
	var headers, respHeaders, params listFlag
	fs.Var(&headers, "H", "request header \"Name: value\" (repeatable)")
	fs.Var(&respHeaders, "response-header", "header of the synthetic upstream response (repeatable)")
	fs.Var(&params, "param", "path parameter name=value (repeatable)")
	// Accept flags after the file name too: script run x.lua --path /a.
	var file string
	var rest []string
	for i := 0; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") && file == "" {
			file = args[i]
			continue
		}
		rest = append(rest, args[i])
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if file == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: moongate script run FILE [--method M] [--path /p?q] [-H 'Name: value'] [--body B] [--conf JSON] [--status N] [--response-body B]")
		return 2
	}
	var confMap map[string]any
	if err := json.Unmarshal([]byte(*conf), &confMap); err != nil {
		fmt.Fprintf(stderr, "moongate script run: --conf: %v\n", err)
		return 2
	}
	hs, err := parseHeaders(headers)
	if err != nil {
		fmt.Fprintf(stderr, "moongate script run: %v\n", err)
		return 2
	}
	rh, err := parseHeaders(respHeaders)
	if err != nil {
		fmt.Fprintf(stderr, "moongate script run: %v\n", err)
		return 2
	}
	req := Request{Method: *method, Host: *host, Body: *body, ClientIP: *clientIP, Headers: hs,
		Response: Response{Status: *status, Body: *respBody, Headers: rh}}
	req.Path, req.Query, _ = strings.Cut(*path, "?")
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		if req.Params == nil {
			req.Params = map[string]string{}
		}
		req.Params[k] = v
	}
	return runOnce(file, req, HarnessOptions{Conf: confMap, Dir: *dir, Timeout: *timeout, MaxInstructions: *maxInstr}, stdout, stderr)
}

func runOnce(file string, req Request, o HarnessOptions, stdout, stderr io.Writer) int {
	h, err := NewHarness(file, o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer h.Close()
	res, err := h.Run(req)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	Report(stdout, file, req, res)
	if res.Error != "" {
		return 1
	}
	return 0
}

// Report prints what a script did to a request, for people.
func Report(w io.Writer, file string, req Request, res *Result) {
	uri := req.Path
	if req.Query != "" {
		uri += "?" + req.Query
	}
	fmt.Fprintf(w, "script   %s\nrequest  %s %s\n", file, req.Method, uri)
	if res.Error != "" {
		fmt.Fprintf(w, "error    %s\n", res.Error)
	}
	if res.UpstreamCalled {
		fmt.Fprintf(w, "upstream %s", res.Upstream)
		if res.Target != "" {
			fmt.Fprintf(w, " (target %s)", res.Target)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "upstream not called: the chain answered the request itself")
	}
	// What changed in the request.
	var changes []string
	if res.Method != req.Method {
		changes = append(changes, "method "+req.Method+" -> "+res.Method)
	}
	if res.Path != req.Path {
		changes = append(changes, "path "+req.Path+" -> "+res.Path)
	}
	if res.Query != req.Query {
		changes = append(changes, "query "+strconv.Quote(req.Query)+" -> "+strconv.Quote(res.Query))
	}
	before := headerMap(req.Headers)
	after := headerMap(res.RequestHeaders)
	for _, k := range sortedKeys(before, after) {
		if k == "host" || k == "content-length" || k == "user-agent" {
			continue
		}
		b, a := before[k], after[k]
		switch {
		case b == "" && a != "":
			changes = append(changes, "header set     "+k+": "+a)
		case b != "" && a == "":
			changes = append(changes, "header removed "+k)
		case a != b:
			changes = append(changes, "header changed "+k+": "+b+" -> "+a)
		}
	}
	if res.RequestBody != req.Body {
		changes = append(changes, "body replaced ("+fmt.Sprint(len(res.RequestBody))+" bytes)")
	}
	if len(changes) == 0 {
		fmt.Fprintln(w, "request  unchanged")
	} else {
		fmt.Fprintln(w, "request changes:")
		for _, c := range changes {
			fmt.Fprintln(w, "  "+c)
		}
	}
	fmt.Fprintf(w, "response %d\n", res.Status)
	for _, h := range res.Headers {
		fmt.Fprintf(w, "  %s: %s\n", h.Name, h.Value)
	}
	if res.Body != "" {
		fmt.Fprintf(w, "  \n  %s\n", strings.ReplaceAll(strings.TrimRight(res.Body, "\n"), "\n", "\n  "))
	}
	if len(res.Values) > 0 {
		fmt.Fprintln(w, "ctx values:")
		keys := make([]string, 0, len(res.Values))
		for k := range res.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s = %v\n", k, res.Values[k])
		}
	}
	if len(res.Logs) > 0 {
		fmt.Fprintln(w, "logs:")
		for _, l := range res.Logs {
			where := ""
			if l.Line > 0 {
				where = fmt.Sprintf(" (line %d)", l.Line)
			}
			msg := l.Message
			if l.Error != "" {
				msg += ": " + l.Error
			}
			fmt.Fprintf(w, "  %-5s %s%s\n", l.Level, msg, where)
		}
	}
}

func headerMap(hs []Header) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		k := strings.ToLower(h.Name)
		if m[k] != "" {
			m[k] += ", " + h.Value
		} else {
			m[k] = h.Value
		}
	}
	return m
}

func sortedKeys(ms ...map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
