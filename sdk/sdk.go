package sdk

import (
	"log/slog"
	"strings"
	"time"

	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
	"github.com/moongate/moongate/core/registry"
	"github.com/moongate/moongate/core/store"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
	lua "github.com/yuin/gopher-lua"
)

// Phases is a set of chain phases a function may be called in.
type Phases uint8

// The phases, as sets.
const (
	Request  Phases = 1 << iota // on_request
	Response                    // on_response
	Log                         // on_log
	// All is every phase.
	All = Request | Response | Log
)

func phaseBit(p plugin.Phase) Phases {
	switch p {
	case plugin.PhaseRequest:
		return Request
	case plugin.PhaseResponse:
		return Response
	case plugin.PhaseLog:
		return Log
	}
	return 0
}

// Names returns the phase names in the set, in order: "request, response".
func (p Phases) Names() string {
	var out []string
	if p&Request != 0 {
		out = append(out, "request")
	}
	if p&Response != 0 {
		out = append(out, "response")
	}
	if p&Log != 0 {
		out = append(out, "log")
	}
	return strings.Join(out, ", ")
}

// Param is a parameter or a return value of a binding.
type Param struct {
	// Name is the parameter's name.
	Name string
	// Type is its LuaLS type: "string", "integer", "string?", "table<string,string>", ...
	Type string
	// Doc says what it is, in one sentence.
	Doc string
}

// Binding describes one function of `gw` and holds its implementation.
// The same description produces the SDK reference and the annotations.
type Binding struct {
	// Namespace is the table the function lives in: "request" for gw.request.
	Namespace string
	// Name is the function's name: "get_header".
	Name string
	// Phases are the phases it may be called in; 0 means anywhere, also
	// outside a request (at load time and in tests).
	Phases Phases
	// Doc describes what it does.
	Doc string
	// Params are its parameters, in order.
	Params []Param
	// Returns are its return values, in order.
	Returns []Param
	// Example is a short piece of Lua using it.
	Example string
	// Fn implements it. s.C is the current request (nil when Phases is 0
	// and no request is running).
	Fn func(s *State, L *lua.LState) int
}

// FullName returns "gw.namespace.name".
func (b *Binding) FullName() string { return "gw." + b.Namespace + "." + b.Name }

// Namespace describes one table of `gw`.
type Namespace struct {
	// Name is the table's name: "request".
	Name string
	// Doc describes the namespace.
	Doc string
	// Fields are values (not functions) the table holds, such as
	// gw.json.null; they are set by the namespace's Init.
	Fields []Param
	// Init, if set, adds the namespace's fields to its table.
	Init func(s *State, L *lua.LState, t *lua.LTable)
}

var (
	namespaces = registry.New[*Namespace]("gw namespace")
	bindings   = registry.New[*Binding]("gw function") // by full name
)

// addNamespace registers a namespace of gw and its functions, from init.
// A namespace or function registered twice panics, naming both places.
func addNamespace(ns *Namespace, bs ...*Binding) {
	namespaces.Register(ns.Name, ns)
	for _, b := range bs {
		b.Namespace = ns.Name
		bindings.Register(b.FullName(), b)
	}
}

// Bindings returns every binding, sorted by namespace and name.
func Bindings() []*Binding {
	out := make([]*Binding, 0, bindings.Len())
	for _, n := range bindings.Names() {
		b, _ := bindings.Lookup(n)
		out = append(out, b)
	}
	return out
}

// Namespaces returns every namespace, sorted by name.
func Namespaces() []*Namespace {
	out := make([]*Namespace, 0, namespaces.Len())
	for _, n := range namespaces.Names() {
		ns, _ := namespaces.Lookup(n)
		out = append(out, ns)
	}
	return out
}

// Options are the process-wide services and limits a State uses.
type Options struct {
	// Script is the script's path, for logs and the cache namespace.
	Script string
	// Cache is the script's namespace of the shared cache (gw.cache); nil
	// turns gw.cache into an error.
	Cache *store.Namespace
	// Logger logs gw.log calls made outside a request; nil uses slog.Default.
	Logger *slog.Logger
	// MaxString bounds strings the SDK builds (gw.json, gw.base64,
	// gw.http bodies). 0 means 16 MB.
	MaxString int
	// HTTP decides which addresses gw.http may connect to; nil means
	// DefaultHTTPPolicy.
	HTTP *HTTPPolicy
	// Budget is charged for every string a gw.* function returns and every
	// table it builds; nil charges nothing.
	Budget *Budget
	// Metrics are the counters the script declared (gw.metrics.inc), by
	// name; nil: none.
	Metrics map[string]Counter
	// Shared is the script's gw.shared dictionary; nil turns gw.shared
	// into an error.
	Shared *Dict
	// Redis is the process's shared Redis client (gw.redis); nil when the
	// configuration has no [redis] section, which turns gw.redis into an
	// error.
	Redis redis.UniversalClient
	// Limits finds a named rate limit of [[rate_limits]] for
	// gw.ratelimit.check (nil when there is none of that name); nil turns
	// every name into an unknown one.
	Limits func(name string) ratelimit.Limiter
	// Views, when set, makes gw and its namespaces read-only for scripts
	// (and gw.json's array marker); the functions that take tables see
	// through views of tables.
	Views *Views
}

// State is the SDK bound into one Lua state. It is used by one goroutine
// at a time, like the Lua state itself.
type State struct {
	// C is the request being served, set by the caller for the duration
	// of one call and nil otherwise.
	C *plugin.Context
	// Deadline is when the current call must end; gw.http uses it to
	// bound its timeout. Zero means no deadline.
	Deadline time.Time

	opts        Options
	client      *fasthttp.Client // gw.http's, for opts.HTTP
	exit        *lua.LUserData   // raised by gw.response.exit to end the call
	null        *lua.LUserData   // gw.json.null
	arrayMeta   *lua.LTable      // metatable marking a table as a JSON array
	badNumber   string           // a number gw.json.decode met out of the double range
	limitResult ratelimit.Result // gw.ratelimit.check's decision, reused
	buf         []byte
	// metricValues is gw.metrics.inc's buffer of label values.
	metricValues []string
}

// Open binds `gw` into L as a global and returns the State that its
// functions act through.
func Open(L *lua.LState, opts Options) *State {
	if opts.MaxString <= 0 {
		opts.MaxString = 16 << 20
	}
	if opts.HTTP == nil {
		opts.HTTP = defaultPolicy()
	}
	s := &State{opts: opts, client: opts.HTTP.client()}
	s.exit = L.NewUserData()
	s.null = L.NewUserData()
	s.arrayMeta = L.NewTable()
	gw := L.NewTable()
	tables := map[string]*lua.LTable{}
	namespaces.Each(func(name string, _ *Namespace) {
		t := L.NewTable()
		tables[name] = t
		gw.RawSetString(name, t)
	})
	bindings.Each(func(_ string, b *Binding) {
		tables[b.Namespace].RawSetString(b.Name, L.NewFunction(s.wrap(b)))
	})
	namespaces.Each(func(name string, ns *Namespace) {
		if ns.Init != nil {
			ns.Init(s, L, tables[name])
		}
	})
	if opts.Views != nil {
		gw = opts.Views.View(L, gw, "gw")
		opts.Views.Lock(L, s.arrayMeta, "gw.json array marker")
	}
	L.SetGlobal("gw", gw)
	return s
}

// real returns the table behind a read-only view (Options.Views), or t.
func (s *State) real(t *lua.LTable) *lua.LTable { return s.opts.Views.Real(t) }

// IsExit reports whether v is the value gw.response.exit raises to end a
// call: the caller treats such an error as a normal end.
func (s *State) IsExit(v lua.LValue) bool { return v == s.exit }

func (s *State) wrap(b *Binding) lua.LGFunction {
	if b.Phases == 0 {
		return func(L *lua.LState) int {
			n := b.Fn(s, L)
			s.chargeResults(L, n)
			return n
		}
	}
	return func(L *lua.LState) int {
		if s.C == nil || phaseBit(s.C.Phase())&b.Phases == 0 {
			s.phaseError(L, b)
		}
		n := b.Fn(s, L)
		s.chargeResults(L, n)
		return n
	}
}

func (s *State) phaseError(L *lua.LState, b *Binding) {
	phase := "load"
	if s.C != nil {
		phase = s.C.Phase().String()
	}
	L.RaiseError("%s: not allowed in the %s phase (allowed: %s)", b.FullName(), phase, b.Phases.Names())
}

// checkSize raises an error when a string of n bytes would exceed the
// limit, or the call's memory budget (which charges it once returned).
func (s *State) checkSize(L *lua.LState, what string, n int) {
	if n > s.opts.MaxString {
		L.RaiseError("%s: result of %d bytes exceeds max_string_size (%d bytes)", what, n, s.opts.MaxString)
	}
	s.opts.Budget.Check(L, n)
}

// pushBytes pushes b as a Lua string (copied).
func pushBytes(L *lua.LState, b []byte) {
	L.Push(lua.LString(b))
}

// pushOpt pushes b as a string, or nil when ok is false.
func pushOpt(L *lua.LState, b []byte, ok bool) int {
	if !ok {
		L.Push(lua.LNil)
	} else {
		pushBytes(L, b)
	}
	return 1
}
