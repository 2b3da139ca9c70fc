package lua

import (
	"github.com/moongate/moongate/sdk"
	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// Reading gw's functions directly.
//
// `gw.request.set_header(...)` reads three tables through their
// read-only views: the global gw (the environment, its metatable's
// __index, the globals), the field request of the view gw (the empty
// view, its metatable's __index, the real table) and set_header of the
// view request: nine table lookups, three of them hashed, and about a
// third of a trivial call's CPU. gw and its namespaces never change
// (they are read-only views, and the global gw cannot be assigned, see
// guard.newGlobal), so the compiler reads gw.<namespace>.<key> from the
// namespace's real table instead, which the chunk's wrapper holds in a
// hidden local (its name is not an identifier, so no script can name,
// shadow or replace it): one upvalue and one hashed lookup. What the
// script sees is the same value; writes (`gw.request.x = 1`, `function
// gw.request.f() end`) still go through the views and fail, and `local
// r = gw.request` is still the view. A chunk that declares a local or a
// parameter named gw is compiled as written.

// gwNamespaces are the names of gw's namespaces, in the order of the
// hidden locals after (concat) in the chunk's wrapper.
var gwNamespaces = func() []string {
	var out []string
	for _, ns := range sdk.Namespaces() {
		out = append(out, ns.Name)
	}
	return out
}()

// directName is the name of the hidden local that holds namespace ns's
// real table.
func directName(ns string) string { return "(gw." + ns + ")" }

// wrapperLocals are the locals of a chunk's wrapper, set from its
// arguments (guard.chunk): the concatenation function, then the real
// table of each namespace.
var wrapperLocals = func() []string {
	out := []string{concatName}
	for _, ns := range gwNamespaces {
		out = append(out, directName(ns))
	}
	return out
}()

var isNamespace = func() map[string]bool {
	m := map[string]bool{}
	for _, ns := range gwNamespaces {
		m[ns] = true
	}
	return m
}()

// directRead rewrites x, when it reads gw.<namespace>.<key> with gw the
// global, into a read of key from the namespace's hidden local.
func (r *rewriter) directRead(x *ast.AttrGetExpr) {
	inner, ok := x.Object.(*ast.AttrGetExpr)
	if !ok {
		return
	}
	id, ok := inner.Object.(*ast.IdentExpr)
	if !ok || id.Value != "gw" {
		return
	}
	ns, ok := inner.Key.(*ast.StringExpr)
	if !ok || !isNamespace[ns.Value] {
		return
	}
	local := &ast.IdentExpr{Value: directName(ns.Value)}
	local.SetLine(inner.Line())
	local.SetLastLine(inner.LastLine())
	r.direct = append(r.direct, directRead{at: x, was: inner})
	x.Object = local
}

// target rewrites the target of an assignment: its parts are reads, the
// target itself is written and keeps going through the views.
func (r *rewriter) target(e ast.Expr) ast.Expr {
	if x, ok := e.(*ast.AttrGetExpr); ok {
		x.Object = r.expr(x.Object)
		x.Key = r.expr(x.Key)
		return x
	}
	return r.expr(e)
}

// declare notes the locals a statement or function declares.
func (r *rewriter) declare(names ...string) {
	for _, n := range names {
		if n == "gw" {
			r.shadowed = true
		}
	}
}

// wrapperArgs returns the arguments of a chunk's wrapper after the
// concatenation function: the real table of each of gw's namespaces in
// L (nil for one it lacks, which then reads as an error).
func wrapperArgs(L *glua.LState, views *sdk.Views) []glua.LValue {
	out := make([]glua.LValue, len(gwNamespaces))
	gw, _ := L.G.Global.RawGetString("gw").(*glua.LTable)
	for i, ns := range gwNamespaces {
		out[i] = glua.LNil
		if gw == nil {
			continue
		}
		if t, ok := views.Real(gw).RawGetString(ns).(*glua.LTable); ok {
			out[i] = views.Real(t)
		}
	}
	return out
}
