package lua

import (
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/sdk"
	"github.com/valyala/fasthttp"
	glua "github.com/yuin/gopher-lua"
)

// testFileTimeout bounds one *_test.lua file, all its cases together.
const testFileTimeout = 2 * time.Minute

// testFileMemory is the memory budget of a *_test.lua file's own code:
// its main chunk, and each case (the scripts it loads have theirs).
const testFileMemory = 256 << 20

// TestSummary counts the cases of a test run.
type TestSummary struct {
	Passed, Failed int
}

// RunTests runs every *_test.lua file under the given files or folders
// and writes one line per case and a final "N passed, M failed" line to
// w. A file that cannot be loaded counts as one failed case.
func RunTests(paths []string, w io.Writer) TestSummary {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(w, "FAIL %s: %v\n", p, err)
			return TestSummary{Failed: 1}
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, "_test.lua") {
				files = append(files, path)
			}
			return nil
		})
	}
	sort.Strings(files)
	// One cache for the whole run, as in a gateway process.
	shared := store.New(store.MinSize)
	var sum TestSummary
	for _, f := range files {
		s := runTestFile(f, shared, w)
		sum.Passed += s.Passed
		sum.Failed += s.Failed
	}
	if len(files) == 0 {
		fmt.Fprintf(w, "no *_test.lua files in %s\n", strings.Join(paths, " "))
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", sum.Passed, sum.Failed)
	return sum
}

// testFile is the state of one *_test.lua run.
type testFile struct {
	path      string
	dir       string
	shared    *store.Store
	sdk       *sdk.State
	cases     []testCase
	harnesses []*Harness
	servers   []*testServer
}

type testCase struct {
	name string
	fn   *glua.LFunction
}

func runTestFile(path string, shared *store.Store, w io.Writer) TestSummary {
	tf := &testFile{path: path, dir: filepath.Dir(path), shared: shared}
	defer tf.close()
	proto, err := compileFile(path)
	if err != nil {
		fmt.Fprintf(w, "FAIL %s: %v\n", path, err)
		return TestSummary{Failed: 1}
	}
	mem := sdk.NewBudget(testFileMemory, "memory limit exceeded ("+config.Size(testFileMemory).String()+" per test case)")
	L := newSandbox(64<<20, mem)
	defer L.Close()
	wd := newWatchdog()
	L.SetContext(wd)
	views := sdk.NewViews(L)
	tf.sdk = sdk.Open(L, sdk.Options{Script: path, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Cache: shared.Namespace("lua-test:" + path),
		Budget: mem, Views: views})
	L.SetGlobal("gwtest", tf.module(L))
	// print in a test file writes to the run's output, between the lines
	// of the cases (the scripts it tests log theirs: r.logs).
	L.SetGlobal("print", L.NewFunction(func(L *glua.LState) int {
		var b strings.Builder
		for i := 1; i <= L.GetTop(); i++ {
			if i > 1 {
				b.WriteByte('\t')
			}
			b.WriteString(L.ToStringMeta(L.Get(i)).String())
		}
		fmt.Fprintln(w, b.String())
		return 0
	}))
	main := newGuard(L, views, mem).chunk(proto)
	wd.arm(testFileTimeout, unlimited)
	defer wd.disarm()
	L.Push(main)
	if err := L.PCall(0, 0, nil); err != nil {
		fmt.Fprintf(w, "FAIL %s: %s\n", path, errorText(err))
		return TestSummary{Failed: 1}
	}
	var sum TestSummary
	for _, tc := range tf.cases {
		start := time.Now()
		mem.Reset()
		L.Push(tc.fn)
		err := L.PCall(0, 0, nil)
		took := time.Since(start).Round(time.Microsecond)
		if err != nil {
			sum.Failed++
			fmt.Fprintf(w, "FAIL %s: %s (%s)\n    %s\n", path, tc.name, took, strings.ReplaceAll(errorText(err), "\n", "\n    "))
			continue
		}
		sum.Passed++
		fmt.Fprintf(w, "ok   %s: %s (%s)\n", path, tc.name, took)
	}
	if len(tf.cases) == 0 {
		fmt.Fprintf(w, "FAIL %s: no test cases (add some with gwtest.test(name, function() ... end))\n", path)
		sum.Failed++
	}
	return sum
}

func (tf *testFile) close() {
	for _, h := range tf.harnesses {
		h.Close()
	}
	for _, s := range tf.servers {
		s.close()
	}
}

// module builds the gwtest table.
func (tf *testFile) module(L *glua.LState) *glua.LTable {
	m := L.NewTable()
	L.SetFuncs(m, map[string]glua.LGFunction{
		"test":     tf.test,
		"load":     tf.load,
		"eq":       tf.eq,
		"ok":       tf.ok,
		"contains": tf.contains,
		"serve":    tf.serve,
	})
	return m
}

func (tf *testFile) test(L *glua.LState) int {
	tf.cases = append(tf.cases, testCase{name: L.CheckString(1), fn: L.CheckFunction(2)})
	return 0
}

// load(path, conf?, opts?) returns a script handle with run, cache_get,
// cache_set. opts: timeout, max_instructions, on_error, dir, upstreams,
// rate_limits (named limits: { name = { limits = {...}, ... } }). path is relative to the test file's folder.
func (tf *testFile) load(L *glua.LState) int {
	p := L.CheckString(1)
	if !filepath.IsAbs(p) {
		p = filepath.Join(tf.dir, p)
	}
	o := HarnessOptions{Cache: tf.shared}
	if t := L.OptTable(2, nil); t != nil {
		conf, err := tf.toGoMap(L, t)
		if err != nil {
			L.ArgError(2, err.Error())
		}
		o.Conf = conf
	}
	if opts := L.OptTable(3, nil); opts != nil {
		if v, ok := opts.RawGetString("timeout").(glua.LNumber); ok {
			o.Timeout = time.Duration(float64(v) * float64(time.Second))
		}
		if v, ok := opts.RawGetString("max_instructions").(glua.LNumber); ok {
			o.MaxInstructions = int64(v)
		}
		if v, ok := opts.RawGetString("on_error").(glua.LString); ok {
			o.OnError = string(v)
		}
		if v, ok := opts.RawGetString("dir").(glua.LString); ok {
			o.Dir = filepath.Join(tf.dir, string(v))
		}
		if v, ok := opts.RawGetString("rate_limits").(*glua.LTable); ok {
			m, err := tf.toGoMap(L, v)
			if err != nil {
				L.ArgError(3, "rate_limits: "+err.Error())
			}
			o.RateLimits = map[string]map[string]any{}
			for name, e := range m {
				t, ok := e.(map[string]any)
				if !ok {
					L.ArgError(3, "rate_limits."+name+" must be a table")
				}
				o.RateLimits[name] = integers(t).(map[string]any)
			}
		}
		if v, ok := opts.RawGetString("upstreams").(*glua.LTable); ok {
			o.Upstreams = []string{}
			v.ForEach(func(_, e glua.LValue) { o.Upstreams = append(o.Upstreams, glua.LVAsString(e)) })
		}
	}
	h, err := NewHarness(p, o)
	if err != nil {
		L.RaiseError("gwtest.load: %v", err)
	}
	tf.harnesses = append(tf.harnesses, h)
	t := L.NewTable()
	L.SetFuncs(t, map[string]glua.LGFunction{
		"run": func(L *glua.LState) int {
			req := tf.request(L, L.OptTable(2, L.NewTable()))
			res, err := h.Run(req)
			if err != nil {
				L.RaiseError("run: %v", err)
			}
			L.Push(tf.result(L, res))
			return 1
		},
		"cache_get": func(L *glua.LState) int {
			v, ok := h.Cache().Get(nil, []byte(L.CheckString(2)))
			if !ok {
				L.Push(glua.LNil)
			} else {
				L.Push(glua.LString(v))
			}
			return 1
		},
		"cache_set": func(L *glua.LState) int {
			ttl := time.Duration(float64(L.OptNumber(4, 0)) * float64(time.Second))
			h.Cache().Set([]byte(L.CheckString(2)), []byte(L.CheckString(3)), ttl)
			return 0
		},
	})
	L.Push(t)
	return 1
}

// integers returns v with whole numbers as int64, as TOML would give
// them (Lua has only one number type; Go config structs want integers).
func integers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = integers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = integers(e)
		}
	}
	return v
}

func (tf *testFile) toGoMap(L *glua.LState, t *glua.LTable) (map[string]any, error) {
	v, err := tf.sdk.ToGo(t)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return map[string]any{}, nil
	}
	return m, nil
}

func headersOf(v glua.LValue) []Header {
	t, ok := v.(*glua.LTable)
	if !ok {
		return nil
	}
	var out []Header
	t.ForEach(func(k, e glua.LValue) {
		if list, ok := e.(*glua.LTable); ok {
			list.ForEach(func(_, x glua.LValue) { out = append(out, Header{glua.LVAsString(k), glua.LVAsString(x)}) })
			return
		}
		out = append(out, Header{glua.LVAsString(k), glua.LVAsString(e)})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (tf *testFile) request(L *glua.LState, t *glua.LTable) Request {
	str := func(tb *glua.LTable, k string) string {
		if v := tb.RawGetString(k); v != glua.LNil {
			return glua.LVAsString(v)
		}
		return ""
	}
	r := Request{Method: str(t, "method"), Path: str(t, "path"), Query: str(t, "query"), Host: str(t, "host"),
		Body: str(t, "body"), ClientIP: str(t, "client_ip"), Headers: headersOf(t.RawGetString("headers"))}
	if p, ok := t.RawGetString("params").(*glua.LTable); ok {
		r.Params = map[string]string{}
		p.ForEach(func(k, v glua.LValue) { r.Params[glua.LVAsString(k)] = glua.LVAsString(v) })
	}
	if rt, ok := t.RawGetString("response").(*glua.LTable); ok {
		st, _ := strconv.Atoi(str(rt, "status"))
		r.Response = Response{Status: st, Body: str(rt, "body"), Headers: headersOf(rt.RawGetString("headers")),
			Stream: glua.LVAsBool(rt.RawGetString("stream"))}
	}
	return r
}

func headerTable(L *glua.LState, hs []Header) *glua.LTable {
	t := L.NewTable()
	for _, h := range hs {
		k := strings.ToLower(h.Name)
		switch old := t.RawGetString(k).(type) {
		case *glua.LNilType:
			t.RawSetString(k, glua.LString(h.Value))
		case *glua.LTable:
			old.Append(glua.LString(h.Value))
		default:
			list := L.NewTable()
			list.Append(old)
			list.Append(glua.LString(h.Value))
			t.RawSetString(k, list)
		}
	}
	return t
}

func (tf *testFile) result(L *glua.LState, r *Result) *glua.LTable {
	t := L.NewTable()
	t.RawSetString("status", glua.LNumber(r.Status))
	t.RawSetString("headers", headerTable(L, r.Headers))
	t.RawSetString("body", glua.LString(r.Body))
	t.RawSetString("upstream_called", glua.LBool(r.UpstreamCalled))
	t.RawSetString("upstream", glua.LString(r.Upstream))
	if r.Target != "" {
		t.RawSetString("target", glua.LString(r.Target))
	}
	t.RawSetString("method", glua.LString(r.Method))
	t.RawSetString("path", glua.LString(r.Path))
	t.RawSetString("query", glua.LString(r.Query))
	t.RawSetString("request_headers", headerTable(L, r.RequestHeaders))
	t.RawSetString("request_body", glua.LString(r.RequestBody))
	t.RawSetString("values", tf.sdk.ToLua(L, r.Values))
	key := L.CreateTable(len(r.CacheKey), 0)
	for _, part := range r.CacheKey {
		key.Append(glua.LString(part))
	}
	t.RawSetString("cache_key", key)
	logs := L.NewTable()
	for _, l := range r.Logs {
		lt := L.NewTable()
		lt.RawSetString("level", glua.LString(l.Level))
		lt.RawSetString("message", glua.LString(l.Message))
		lt.RawSetString("line", glua.LNumber(l.Line))
		if l.Error != "" {
			lt.RawSetString("error", glua.LString(l.Error))
		}
		logs.Append(lt)
	}
	t.RawSetString("logs", logs)
	if r.Error != "" {
		t.RawSetString("error", glua.LString(r.Error))
	}
	return t
}

// eq(got, want, msg?) fails the case unless got equals want (tables
// compared deeply).
func (tf *testFile) eq(L *glua.LState) int {
	got, want := L.Get(1), L.Get(2)
	if !deepEqual(got, want, 0) {
		msg := optMsg(L, 3)
		L.RaiseError("%sgot %s, want %s", msg, show(got, 0), show(want, 0))
	}
	return 0
}

// ok(value, msg?) fails the case unless value is truthy.
func (tf *testFile) ok(L *glua.LState) int {
	if glua.LVIsFalse(L.Get(1)) {
		L.RaiseError("%sgot %s, want a true value", optMsg(L, 2), show(L.Get(1), 0))
	}
	return 0
}

// contains(s, part, msg?) fails the case unless string s contains part.
func (tf *testFile) contains(L *glua.LState) int {
	s := L.CheckString(1)
	part := L.CheckString(2)
	if !strings.Contains(s, part) {
		L.RaiseError("%s%q does not contain %q", optMsg(L, 3), s, part)
	}
	return 0
}

func optMsg(L *glua.LState, n int) string {
	if s, ok := L.Get(n).(glua.LString); ok {
		return string(s) + ": "
	}
	return ""
}

func deepEqual(a, b glua.LValue, depth int) bool {
	if a == b {
		return true
	}
	ta, ok1 := a.(*glua.LTable)
	tb, ok2 := b.(*glua.LTable)
	if !ok1 || !ok2 || depth > 50 {
		return false
	}
	eq := true
	n := 0
	ta.ForEach(func(k, v glua.LValue) {
		n++
		if eq && !deepEqual(v, tb.RawGet(k), depth+1) {
			eq = false
		}
	})
	m := 0
	tb.ForEach(func(_, _ glua.LValue) { m++ })
	return eq && n == m
}

// show formats a value for failure messages.
func show(v glua.LValue, depth int) string {
	switch x := v.(type) {
	case glua.LString:
		return strconv.Quote(string(x))
	case *glua.LTable:
		if depth > 3 {
			return "{...}"
		}
		var parts []string
		x.ForEach(func(k, e glua.LValue) {
			parts = append(parts, "["+show(k, depth+1)+"]="+show(e, depth+1))
		})
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return v.String()
}

// testServer is a real HTTP server on 127.0.0.1 answering a canned
// response, for scripts that call out with gw.http.
type testServer struct {
	ln       net.Listener
	srv      *fasthttp.Server
	mu       sync.Mutex
	resp     Response
	requests []Request
}

// serve{status, headers, body} starts a server and returns
// {url, set(self, resp), requests(self), close(self)}.
func (tf *testFile) serve(L *glua.LState) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		L.RaiseError("gwtest.serve: %v", err)
	}
	ts := &testServer{ln: ln}
	ts.set(tf.request(L, L.NewTable()).Response)
	if t := L.OptTable(1, nil); t != nil {
		wrap := L.NewTable()
		wrap.RawSetString("response", t)
		ts.set(tf.request(L, wrap).Response)
	}
	ts.srv = &fasthttp.Server{Handler: ts.handle, NoDefaultContentType: true}
	go ts.srv.Serve(ln) //nolint:errcheck // ends at close
	tf.servers = append(tf.servers, ts)
	t := L.NewTable()
	t.RawSetString("url", glua.LString("http://"+ln.Addr().String()))
	L.SetFuncs(t, map[string]glua.LGFunction{
		"set": func(L *glua.LState) int {
			wrap := L.NewTable()
			wrap.RawSetString("response", L.CheckTable(2))
			ts.set(tf.request(L, wrap).Response)
			return 0
		},
		"requests": func(L *glua.LState) int {
			ts.mu.Lock()
			reqs := append([]Request(nil), ts.requests...)
			ts.mu.Unlock()
			list := L.NewTable()
			for _, r := range reqs {
				e := L.NewTable()
				e.RawSetString("method", glua.LString(r.Method))
				e.RawSetString("path", glua.LString(r.Path))
				e.RawSetString("query", glua.LString(r.Query))
				e.RawSetString("headers", headerTable(L, r.Headers))
				e.RawSetString("body", glua.LString(r.Body))
				list.Append(e)
			}
			L.Push(list)
			return 1
		},
		"close": func(L *glua.LState) int { ts.close(); return 0 },
	})
	L.Push(t)
	return 1
}

func (ts *testServer) set(r Response) {
	ts.mu.Lock()
	ts.resp = r
	ts.mu.Unlock()
}

func (ts *testServer) handle(ctx *fasthttp.RequestCtx) {
	r := Request{Method: string(ctx.Method()), Path: string(ctx.Path()), Query: string(ctx.QueryArgs().QueryString()),
		Body: string(ctx.PostBody())}
	for k, v := range ctx.Request.Header.All() {
		r.Headers = append(r.Headers, Header{string(k), string(v)})
	}
	ts.mu.Lock()
	ts.requests = append(ts.requests, r)
	resp := ts.resp
	ts.mu.Unlock()
	st := resp.Status
	if st == 0 {
		st = 200
	}
	ctx.SetStatusCode(st)
	for _, h := range resp.Headers {
		ctx.Response.Header.Add(h.Name, h.Value)
	}
	ctx.SetBodyString(resp.Body)
}

func (ts *testServer) close() {
	ts.srv.Shutdown() //nolint:errcheck // best effort
	ts.ln.Close()
}
