package lua

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
	"github.com/moongate/moongate/sdk"
	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

func init() {
	// With CompatVarArg on, gopher-lua builds an `arg` table on every call
	// of a vararg function, the main chunk included: about 1.5 µs and 8
	// allocations per call. Lua 5.1 scripts use `...` instead.
	glua.CompatVarArg = false
	plugin.RegisterScriptEngine(".lua", New)
}

// initTimeout is the wall-clock backstop of running a script's main
// chunk (and the modules it requires) when a state is created; its
// instructions count against the script's instruction budget, like a
// call's.
const initTimeout = time.Second

// sizeCheckEvery is how many calls a state serves between two estimates
// of its size (max_state_size).
var sizeCheckEvery = 256

// Phases of a script module, indexes of state.fns.
const (
	onRequest = iota
	onResponse
	onLog
)

var fnNames = [...]string{"on_request", "on_response", "on_log"}

// Script is a compiled script step: its code, its settings, and the pool
// of ready Lua states that serve its calls. It is safe for concurrent
// use; each state serves one call at a time.
type Script struct {
	path      string
	proto     *glua.FunctionProto
	conf      map[string]any
	timeout   time.Duration
	maxInstr  int64
	maxString int
	maxState  int
	maxMemory int
	cache     *store.Namespace
	services  sdk.Options // gw.shared, gw.redis and gw.ratelimit's: the same for every state
	http      *sdk.HTTPPolicy
	logger    *slog.Logger
	stats     *Stats
	has       [3]bool
	original  bool // names a function that reads the client's original headers
	modules   *modules
	pool      sync.Pool

	// The script's metrics: calls, errors and timeouts
	// (moongate_lua_*_total{script}), and the counters it declares for
	// gw.metrics.inc.
	calls, errs, timeouts *plugin.Counter
	declared              map[string]sdk.Counter
}

// maxScriptSeries bounds the series of each counter a script declares:
// past it, gw.metrics.inc counts into the "other" series.
const maxScriptSeries = 100

// Step is a script's chain step. It declares only the phases whose
// functions the script defines (plugin.PhaseFilter): a chain with a log
// step copies headers for it, so a script without on_log must not claim
// that phase.
type Step struct{ *Script }

var (
	_ plugin.RequestHandler      = Step{}
	_ plugin.ResponseHandler     = Step{}
	_ plugin.LogHandler          = Step{}
	_ plugin.PhaseFilter         = Step{}
	_ plugin.OriginalHeadersUser = Step{}
)

// UsesOriginalHeaders implements plugin.OriginalHeadersUser: the script,
// or a module it required while loading, names one of the functions
// that read the client's original headers (sdk.OriginalHeaderFunctions),
// so its chain keeps them; other chains do not pay for the copy.
func (s Step) UsesOriginalHeaders() bool { return s.original }

// Handles implements plugin.PhaseFilter.
func (s Step) Handles(p plugin.Phase) bool {
	switch p {
	case plugin.PhaseRequest:
		return s.has[onRequest]
	case plugin.PhaseResponse:
		return s.has[onResponse]
	case plugin.PhaseLog:
		return s.has[onLog]
	}
	return false
}

// OnRequest implements plugin.RequestHandler.
func (s Step) OnRequest(c *plugin.Context) error { return s.run(c, onRequest) }

// OnResponse implements plugin.ResponseHandler.
func (s Step) OnResponse(c *plugin.Context) error { return s.run(c, onResponse) }

// OnLog implements plugin.LogHandler. Errors are logged here, with the
// step's logger (which names the route and the step): the log phase has
// no response to fail.
func (s Step) OnLog(c *plugin.Context) {
	if err := s.run(c, onLog); err != nil {
		c.LogAttrs(slog.LevelError, "step failed", slog.String("phase", "log"), slog.String("error", err.Error()))
	}
}

// New builds a script step from its spec: the factory registered for
// ".lua". It reads and compiles the script, runs its main chunk once in a
// first state (so that load errors fail `moongate validate`), and keeps
// that state for the first request.
func New(spec plugin.Spec) (any, error) {
	lc := config.DefaultLua()
	if gc := spec.Settings(); gc != nil {
		lc = gc.Lua
	}
	problem := func(reason string) error {
		if gc := spec.Settings(); gc != nil {
			return gc.Problem(spec.Path+".script", reason)
		}
		return config.Problem{Key: spec.Path + ".script", Reason: reason}
	}
	conf, err := spec.Config.Raw()
	if err != nil {
		return nil, err
	}
	proto, err := compileFile(spec.Name)
	if err != nil {
		return nil, problem(err.Error())
	}
	policy, err := sdk.NewHTTPPolicy(lc.HTTPDeny, lc.HTTPAllow)
	if err != nil {
		return nil, problem("lua.http_deny, lua.http_allow: " + err.Error()) // checked by core/config before
	}
	sc := &Script{
		path:      spec.Name,
		proto:     proto,
		conf:      conf,
		timeout:   lc.Timeout.Std(),
		maxInstr:  lc.MaxInstructions,
		maxString: lc.MaxStringSize.Int(),
		maxState:  lc.MaxStateSize.Int(),
		http:      policy,
		maxMemory: lc.MaxMemory.Int(),
		stats:     statsFor(spec.Name),
		modules:   &modules{dir: lc.Dir, protos: map[string]*glua.FunctionProto{}},
		logger:    spec.Logger(),
		cache:     spec.Namespace("lua:" + spec.Name),
		services:  sdk.Options{Shared: sharedDict(spec, lc.SharedSize.Int()), Redis: spec.Redis(), Limits: spec.Limit},
	}
	m := spec.Metrics()
	sc.calls = m.Counter("moongate_lua_calls_total", "script", spec.Name)
	sc.errs = m.Counter("moongate_lua_errors_total", "script", spec.Name)
	sc.timeouts = m.Counter("moongate_lua_timeouts_total", "script", spec.Name)
	if len(spec.Step.Metrics) > 0 {
		sc.declared = map[string]sdk.Counter{}
		for name, labels := range spec.Step.Metrics {
			sc.declared[name] = sdk.Counter{Labels: labels,
				Vec: m.CounterVec("moongate_script_"+name, maxScriptSeries, []string{"script", spec.Name}, labels...)}
		}
	}
	if spec.Step.Timeout > 0 {
		sc.timeout = spec.Step.Timeout.Std()
	}
	if spec.Step.MaxInstructions > 0 {
		sc.maxInstr = spec.Step.MaxInstructions
	}
	if sc.maxInstr <= 0 {
		sc.maxInstr = config.DefaultMaxInstructions
	}
	st, err := sc.loadState()
	if err != nil {
		return nil, problem(err.Error())
	}
	if why := unknownModuleKeys(st.mod); why != "" {
		st.L.Close()
		return nil, problem(spec.Name + ": " + why)
	}
	for i := range sc.has {
		sc.has[i] = st.fns[i] != nil
	}
	if !sc.has[onRequest] && !sc.has[onResponse] && !sc.has[onLog] {
		st.L.Close()
		return nil, problem(spec.Name + ": the module defines none of on_request, on_response, on_log")
	}
	if ps := sc.checkConf(st, spec, problem); len(ps) > 0 {
		st.L.Close()
		return nil, ps
	}
	sc.bindConf(st)
	sc.original = sc.modules.anyNames(sdk.OriginalHeaderFunctions) || namesAny(proto, sdk.OriginalHeaderFunctions, 0)
	sc.pool.Put(st)
	return Step{sc}, nil
}

// sharedDict returns the script's gw.shared dictionary, holding at most
// size bytes: kept in the shared store beside the script's gw.cache
// namespace, so that the entries outlive reloads, or a new one without a
// store.
func sharedDict(spec plugin.Spec, size int) *sdk.Dict {
	ns := spec.Namespace("lua-shared:" + spec.Name)
	if ns == nil {
		return sdk.NewDict(int64(size))
	}
	d := ns.Extension(func(json.RawMessage) store.Extension { return sdk.NewDict(int64(size)) }).(*sdk.Dict)
	d.SetLimit(int64(size))
	return d
}

// checkConf checks the step's config against the schema the module
// declares (M.schema), if any, and applies the schema's defaults to it.
// Problems in the schema itself are the script's (at the step's script
// key); problems of the config are at their key in the config table.
func (sc *Script) checkConf(st *state, spec plugin.Spec, problem func(string) error) config.Problems {
	v := st.mod.RawGetString("schema")
	if v == glua.LNil {
		return nil
	}
	sch, errs := parseSchema(st.sdk, v)
	if len(errs) > 0 {
		var ps config.Problems
		for _, e := range errs {
			ps = append(ps, config.AsProblems(problem(sc.path+": "+e))...)
		}
		return ps
	}
	base := spec.Config.Path()
	if base == "" {
		base = spec.Path + ".config"
	}
	var ps config.Problems
	sc.conf = sch.apply(sc.conf, func(key, reason string) {
		path := base + "." + key
		if gc := spec.Settings(); gc != nil {
			ps = append(ps, gc.Problem(path, reason))
		} else {
			ps = append(ps, config.Problem{Key: path, Reason: reason})
		}
	})
	return ps
}

// compileFile parses and compiles a Lua source file. gopher-lua has no
// bytecode loader: a precompiled chunk is a syntax error like any other
// non-source text.
func compileFile(path string) (*glua.FunctionProto, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, errors.New(config.CannotRead(path, err))
	}
	return compile(path, src)
}

func compile(name string, src []byte) (*glua.FunctionProto, error) {
	if bytes.HasPrefix(src, []byte("\x1bLua")) {
		return nil, errors.New(name + ": precompiled (bytecode) chunks are not accepted")
	}
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		var pe *parse.Error
		if errors.As(err, &pe) {
			msg := pe.Message
			if !strings.Contains(msg, "syntax error") {
				msg = "syntax error: " + msg
			}
			if pe.Pos.Line < 1 {
				return nil, fmt.Errorf("%s: %s at the end of the file", name, msg)
			}
			return nil, fmt.Errorf("%s:%d: %s near %q", name, pe.Pos.Line, msg, pe.Token)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	chunk, err = wrapChunk(chunk)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	proto, err := glua.Compile(chunk, name)
	if err != nil {
		var ce *glua.CompileError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%s:%d: %s", name, ce.Line, ce.Message)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return proto, nil
}

// state is one pooled Lua state, ready to serve a call of its script.
type state struct {
	L     *glua.LState
	sdk   *sdk.State
	w     *watchdog
	mem   *sdk.Budget
	guard *guard
	mod   *glua.LTable
	fns   [3]*glua.LFunction
	conf  glua.LValue
	views *sdk.Views
	calls int
	size  sizer
}

// memoryError is the error a call over lua.max_memory raises.
func memoryError(limit int) string {
	return "memory limit exceeded (lua.max_memory = " + config.Size(limit).String() + ")"
}

// newState creates a state ready to serve calls: loaded, with the
// step's config bound.
func (sc *Script) newState() (*state, error) {
	st, err := sc.loadState()
	if err != nil {
		return nil, err
	}
	sc.bindConf(st)
	return st, nil
}

// bindConf gives st the step's config (defaults of the module's schema
// applied), read-only, as the argument of its functions.
func (sc *Script) bindConf(st *state) {
	st.conf = st.sdk.ToLua(st.L, sc.conf)
	if t, ok := st.conf.(*glua.LTable); ok {
		st.conf = st.views.View(st.L, t, "conf")
	}
}

// loadState creates a sandboxed state, binds gw, runs the script's main
// chunk under initTimeout and picks the module's functions.
func (sc *Script) loadState() (*state, error) {
	mem := sdk.NewBudget(sc.maxMemory, memoryError(sc.maxMemory))
	L := newSandbox(sc.maxString, mem)
	st := &state{L: L, w: newWatchdog(), mem: mem}
	L.SetContext(st.w)
	views := sdk.NewViews(L)
	st.sdk = sdk.Open(L, sdk.Options{Script: sc.path, Cache: sc.cache, MaxString: sc.maxString, Logger: sc.logger,
		Budget: mem, Views: views, HTTP: sc.http, Metrics: sc.declared,
		Shared: sc.services.Shared, Redis: sc.services.Redis, Limits: sc.services.Limits})
	L.SetGlobal("print", L.GetField(L.GetField(L.GetGlobal("gw"), "log"), "info"))
	L.SetGlobal("require", L.NewFunction(sc.modules.require(st)))
	st.views = views
	st.guard = newGuard(L, views, mem)
	main := st.guard.chunk(sc.proto)
	// Loading has a memory budget of its own, like a call.
	mem.Reset()
	st.sdk.Deadline = st.w.arm(initTimeout, sc.maxInstr)
	L.Push(main)
	err := L.PCall(0, 1, nil)
	if why := st.w.disarm(); why != idle {
		return nil, errors.New(sc.path + ": loading the script " + sc.stopped(why, initTimeout))
	}
	st.sdk.Deadline = time.Time{}
	if err != nil {
		return nil, errors.New(errorText(err))
	}
	st.guard.commit()
	mod, ok := L.Get(-1).(*glua.LTable)
	L.Pop(1)
	if !ok {
		return nil, errors.New(sc.path + ": the script must return a table (its module) with on_request, on_response or on_log")
	}
	st.mod = mod
	for i, name := range fnNames {
		switch f := mod.RawGetString(name).(type) {
		case *glua.LFunction:
			st.fns[i] = f
		case *glua.LNilType:
		default:
			return nil, errors.New(sc.path + ": " + name + " must be a function, got " + f.Type().String())
		}
	}
	st.size.limit = sc.maxState
	st.size.skip = views.IsReadOnly
	sc.stats.statesCreated.Add(1)
	return st, nil
}

// stopped says why the watchdog stopped a call (timedOut or exhausted)
// whose deadline was d.
func (sc *Script) stopped(why int32, d time.Duration) string {
	if why == exhausted {
		return "ran past max_instructions = " + strconv.FormatInt(sc.maxInstr, 10)
	}
	return "timed out after " + d.String()
}

// errorText returns a Lua error's message, which starts with script:line.
func errorText(err error) string {
	var ae *glua.ApiError
	if errors.As(err, &ae) {
		if ae.Object != nil {
			return glua.LVAsString(ae.Object)
		}
		return ae.Error()
	}
	return err.Error()
}

// get returns a ready state: the most recently used one of this P when
// there is one (sync.Pool keeps per-P lists), else a new one.
func (sc *Script) get() (*state, error) {
	if st, ok := sc.pool.Get().(*state); ok {
		return st, nil
	}
	return sc.newState()
}

// scriptError is a failed call; the chain logs it (with the request ID)
// and answers 500, or skips the step when on_error = "continue".
type scriptError struct{ msg string }

func (e *scriptError) Error() string { return e.msg }

// run calls the script's function for phase on c.
func (sc *Script) run(c *plugin.Context, phase int) error {
	if !sc.has[phase] {
		return nil
	}
	sc.calls.Inc()
	st, err := sc.get()
	if err != nil {
		sc.stats.errors.Add(1)
		sc.errs.Inc()
		return &scriptError{msg: err.Error()}
	}
	fn := st.fns[phase]
	if fn == nil {
		sc.pool.Put(st)
		return nil
	}
	L := st.L
	st.sdk.C = c
	st.mem.Reset()
	st.sdk.Deadline = st.w.arm(sc.timeout, sc.maxInstr)
	L.Push(fn)
	L.Push(st.conf)
	err = L.PCall(1, 0, nil)
	stopped := st.w.disarm()
	st.sdk.C = nil
	st.guard.endCall()
	if err != nil {
		var ae *glua.ApiError
		if errors.As(err, &ae) && st.sdk.IsExit(ae.Object) {
			err = nil
		}
	}
	if stopped != idle {
		// The state may be anywhere in the script: never reuse it.
		sc.stats.discarded.Add(1)
		if err == nil {
			// The call ended just as the deadline passed: its work is done.
			return nil
		}
		sc.stats.errors.Add(1)
		sc.stats.timeouts.Add(1)
		sc.errs.Inc()
		sc.timeouts.Inc()
		return &scriptError{msg: errorText(err) + " (" + fnNames[phase] + " " + sc.stopped(stopped, sc.timeout) + ")"}
	}
	if st.mem.Exceeded() {
		// What the call built may still be reachable from the state (an
		// upvalue, a table of the module): drop the state. A script that
		// caught the error with pcall and answered has done its work.
		sc.stats.discarded.Add(1)
		sc.stats.memory.Add(1)
		if err == nil {
			return nil
		}
		sc.stats.errors.Add(1)
		sc.errs.Inc()
		return &scriptError{msg: errorText(err)}
	}
	st.calls++
	if st.calls%sizeCheckEvery == 0 {
		if over, n := st.size.over(L.Get(glua.GlobalsIndex), L.Get(glua.RegistryIndex),
			L.GetMetatable(glua.LString("")), st.mod); over {
			sc.stats.discarded.Add(1)
			c.LogAttrs(slog.LevelWarn, "lua state discarded: it keeps more than lua.max_state_size between calls",
				slog.String("script", sc.path), slog.Int("estimated_bytes", n), slog.Int("limit", sc.maxState))
			st = nil
		}
	}
	if st != nil {
		sc.pool.Put(st)
	}
	if err != nil {
		sc.stats.errors.Add(1)
		sc.errs.Inc()
		return &scriptError{msg: errorText(err)}
	}
	return nil
}

// modules compiles the helper modules scripts require, once per
// configuration load, from the scripts folder only.
type modules struct {
	dir    string
	mu     sync.Mutex
	protos map[string]*glua.FunctionProto
}

// anyNames reports whether a module loaded so far has one of names
// among its string constants (see namesAny).
func (m *modules) anyNames(names []string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.protos {
		if namesAny(p, names, 0) {
			return true
		}
	}
	return false
}

// namesAny reports whether one of names is a string constant of p or of
// a function nested in it: `gw.request.get_original_header(...)` and
// `local f = req.get_original_header` both have it.
func namesAny(p *glua.FunctionProto, names []string, depth int) bool {
	if depth > 200 {
		return false
	}
	for _, c := range p.Constants {
		if str, ok := c.(glua.LString); ok {
			for _, n := range names {
				if string(str) == n {
					return true
				}
			}
		}
	}
	for _, f := range p.FunctionPrototypes {
		if namesAny(f, names, depth+1) {
			return true
		}
	}
	return false
}

func (m *modules) load(name string) (*glua.FunctionProto, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.protos[name]; ok {
		return p, nil
	}
	path := filepath.Join(m.dir, strings.ReplaceAll(name, ".", string(filepath.Separator))+".lua")
	p, err := compileFile(path)
	if err != nil {
		return nil, err
	}
	m.protos[name] = p
	return p, nil
}

// require returns the state's `require`: it loads name from the scripts
// folder (dots are folders), runs it once per state and caches its value.
func (m *modules) require(st *state) glua.LGFunction {
	loaded := map[string]glua.LValue{}
	return func(L *glua.LState) int {
		name := L.CheckString(1)
		if v, ok := loaded[name]; ok {
			L.Push(v)
			return 1
		}
		if !validModule(name) {
			L.ArgError(1, "module names are dotted identifiers such as \"lib.util\", resolved inside lua.dir")
		}
		p, err := m.load(name)
		if err != nil {
			L.RaiseError("require %q: %s", name, err.Error())
		}
		L.Push(st.guard.chunk(p))
		L.Push(glua.LString(name))
		L.Call(1, 1)
		v := L.Get(-1)
		L.Pop(1)
		if v == glua.LNil {
			v = glua.LTrue
		}
		loaded[name] = v
		L.Push(v)
		return 1
	}
}
