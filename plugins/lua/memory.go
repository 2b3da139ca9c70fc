package lua

import (
	"fmt"
	"strings"

	"github.com/moongate/moongate/sdk"
	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// The memory a call builds is charged to its budget (lua.max_memory,
// sdk.Budget). gopher-lua has no allocator hook, so every place where a
// script can build memory fast charges it:
//
//   - the `..` operator: scripts are compiled by us, and every
//     concatenation (a chain a .. b .. c at once) is compiled as a call of
//     a hidden Go function that charges the result and then builds it;
//   - the library functions that build strings: string.rep, format,
//     upper, lower, reverse, char, gsub and table.concat;
//   - every gw.* function: the strings it returns, the tables it builds.
//
// What is left is memory that grows one VM instruction at a time (table
// slots, closures, small tables), bounded by the call's instruction
// budget (watchdog.go).

// concatName is the name of the local that holds the hidden
// concatenation function. It is not an identifier, so no script can
// name, shadow or replace it.
const concatName = "(concat)"

// wrapChunk rewrites a parsed chunk for the sandbox: every concatenation
// becomes a call of concatName, and the chunk becomes
//
//	local (concat) = ...
//	return function(...) <chunk> end
//
// so that running it with the state's concatenation function returns
// the script's real main function, which has that function as an
// upvalue (see guard.chunk).
func wrapChunk(chunk []ast.Stmt) ([]ast.Stmt, error) {
	var r rewriter
	r.stmts(chunk)
	if r.err != nil {
		return nil, r.err
	}
	if r.shadowed {
		// A local named gw: its uses read the local, never the SDK.
		for _, u := range r.direct {
			u.at.Object = u.was
		}
	}
	main := &ast.FunctionExpr{ParList: &ast.ParList{HasVargs: true, Names: []string{}}, Stmts: chunk}
	if len(chunk) > 0 {
		main.SetLine(chunk[0].Line())
		last := chunk[len(chunk)-1]
		main.SetLastLine(max(last.LastLine(), last.Line()) + 1)
	}
	return []ast.Stmt{
		&ast.LocalAssignStmt{Names: wrapperLocals, Exprs: []ast.Expr{&ast.Comma3Expr{}}},
		&ast.ReturnStmt{Exprs: []ast.Expr{main}},
	}, nil
}

// rewriter replaces concatenations by calls, and reads of gw's
// functions by direct reads (direct.go), in place.
type rewriter struct {
	err error
	// direct are the reads of gw.<namespace>.<key> rewritten; shadowed
	// is set when the chunk declares a local (or parameter) named gw,
	// which turns them back.
	direct   []directRead
	shadowed bool
}

// directRead is a rewritten gw.<namespace>.<key>: at's object was was.
type directRead struct {
	at  *ast.AttrGetExpr
	was ast.Expr
}

func (r *rewriter) stmts(ss []ast.Stmt) {
	for _, s := range ss {
		r.stmt(s)
	}
}

func (r *rewriter) stmt(s ast.Stmt) {
	switch x := s.(type) {
	case *ast.AssignStmt:
		for i, l := range x.Lhs {
			x.Lhs[i] = r.target(l)
		}
		r.exprs(x.Rhs)
	case *ast.LocalAssignStmt:
		r.declare(x.Names...)
		r.exprs(x.Exprs)
	case *ast.FuncCallStmt:
		x.Expr = r.expr(x.Expr)
	case *ast.DoBlockStmt:
		r.stmts(x.Stmts)
	case *ast.WhileStmt:
		x.Condition = r.expr(x.Condition)
		r.stmts(x.Stmts)
	case *ast.RepeatStmt:
		x.Condition = r.expr(x.Condition)
		r.stmts(x.Stmts)
	case *ast.IfStmt:
		x.Condition = r.expr(x.Condition)
		r.stmts(x.Then)
		r.stmts(x.Else)
	case *ast.NumberForStmt:
		r.declare(x.Name)
		x.Init = r.expr(x.Init)
		x.Limit = r.expr(x.Limit)
		x.Step = r.expr(x.Step)
		r.stmts(x.Stmts)
	case *ast.GenericForStmt:
		r.declare(x.Names...)
		r.exprs(x.Exprs)
		r.stmts(x.Stmts)
	case *ast.FuncDefStmt:
		x.Name.Func = r.target(x.Name.Func)
		x.Name.Receiver = r.expr(x.Name.Receiver)
		r.expr(x.Func)
	case *ast.ReturnStmt:
		r.exprs(x.Exprs)
	case *ast.BreakStmt, *ast.LabelStmt, *ast.GotoStmt:
	default:
		// A statement this code does not know could hide a concatenation.
		r.fail(s.Line(), fmt.Sprintf("%T", s))
	}
}

func (r *rewriter) exprs(es []ast.Expr) {
	for i := range es {
		es[i] = r.expr(es[i])
	}
}

func (r *rewriter) expr(e ast.Expr) ast.Expr {
	switch x := e.(type) {
	case nil:
		return nil
	case *ast.StringConcatOpExpr:
		// a .. b .. c is a .. (b .. c): one call with every operand, as
		// the compiler makes one CONCAT of the chain.
		args := []ast.Expr{r.expr(x.Lhs)}
		rhs := x.Rhs
		for {
			c, ok := rhs.(*ast.StringConcatOpExpr)
			if !ok {
				break
			}
			args = append(args, r.expr(c.Lhs))
			rhs = c.Rhs
		}
		args = append(args, r.expr(rhs))
		// An operand is one value, even a call or `...` in last place.
		switch last := args[len(args)-1].(type) {
		case *ast.FuncCallExpr:
			last.AdjustRet = true
		case *ast.Comma3Expr:
			last.AdjustRet = true
		}
		fn := &ast.IdentExpr{Value: concatName}
		fn.SetLine(x.Line())
		call := &ast.FuncCallExpr{Func: fn, Args: args, AdjustRet: true}
		call.SetLine(x.Line())
		call.SetLastLine(x.LastLine())
		return call
	case *ast.AttrGetExpr:
		x.Object = r.expr(x.Object)
		x.Key = r.expr(x.Key)
		r.directRead(x)
	case *ast.TableExpr:
		for _, f := range x.Fields {
			f.Key = r.expr(f.Key)
			f.Value = r.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		x.Func = r.expr(x.Func)
		x.Receiver = r.expr(x.Receiver)
		r.exprs(x.Args)
	case *ast.LogicalOpExpr:
		x.Lhs = r.expr(x.Lhs)
		x.Rhs = r.expr(x.Rhs)
	case *ast.RelationalOpExpr:
		x.Lhs = r.expr(x.Lhs)
		x.Rhs = r.expr(x.Rhs)
	case *ast.ArithmeticOpExpr:
		x.Lhs = r.expr(x.Lhs)
		x.Rhs = r.expr(x.Rhs)
	case *ast.UnaryMinusOpExpr:
		x.Expr = r.expr(x.Expr)
	case *ast.UnaryNotOpExpr:
		x.Expr = r.expr(x.Expr)
	case *ast.UnaryLenOpExpr:
		x.Expr = r.expr(x.Expr)
	case *ast.FunctionExpr:
		if x.ParList != nil {
			r.declare(x.ParList.Names...)
		}
		r.stmts(x.Stmts)
	case *ast.TrueExpr, *ast.FalseExpr, *ast.NilExpr, *ast.NumberExpr, *ast.StringExpr,
		*ast.Comma3Expr, *ast.IdentExpr:
	default:
		r.fail(e.Line(), fmt.Sprintf("%T", e))
	}
	return e
}

func (r *rewriter) fail(line int, what string) {
	if r.err == nil {
		r.err = fmt.Errorf("line %d: the sandbox cannot compile a %s", line, what)
	}
}

// concat is the `..` operator of a sandboxed state: it charges the
// result to mem before building it. Operands are strings and numbers,
// else the __concat metamethods are called pairwise from the right, as
// Lua does.
func concat(mem *sdk.Budget) glua.LGFunction {
	return func(L *glua.LState) int {
		n := L.GetTop()
		if n < 2 {
			L.RaiseError("concatenation of fewer than two values")
		}
		total := 0
		for i := 1; i <= n; i++ {
			switch v := L.Get(i).(type) {
			case glua.LString:
				total += len(v)
			case glua.LNumber:
				total += 24 // the longest a number prints as
			default:
				return concatMeta(L, mem, n)
			}
		}
		mem.Charge(L, total)
		if n == 2 {
			L.Push(glua.LString(glua.LVAsString(L.Get(1)) + glua.LVAsString(L.Get(2))))
			return 1
		}
		var b strings.Builder
		b.Grow(total)
		for i := 1; i <= n; i++ {
			b.WriteString(glua.LVAsString(L.Get(i)))
		}
		L.Push(glua.LString(b.String()))
		return 1
	}
}

// concatMeta is concat when an operand is neither a string nor a number:
// as gopher-lua's VM does, it joins runs of strings and numbers and
// calls __concat (of the left operand, else of the right one) for the
// others, from the right.
func concatMeta(L *glua.LState, mem *sdk.Budget, n int) int {
	rhs := L.Get(n)
	for i := n - 1; i >= 1; {
		lhs := L.Get(i)
		if glua.LVCanConvToString(lhs) && glua.LVCanConvToString(rhs) {
			j := i
			for j > 1 && glua.LVCanConvToString(L.Get(j-1)) {
				j--
			}
			total := len(glua.LVAsString(rhs))
			for k := j; k <= i; k++ {
				total += len(glua.LVAsString(L.Get(k)))
			}
			mem.Charge(L, total)
			var b strings.Builder
			b.Grow(total)
			for k := j; k <= i; k++ {
				b.WriteString(glua.LVAsString(L.Get(k)))
			}
			b.WriteString(glua.LVAsString(rhs))
			rhs = glua.LString(b.String())
			i = j - 1
			continue
		}
		op := L.GetMetaField(lhs, "__concat")
		if op == glua.LNil {
			op = L.GetMetaField(rhs, "__concat")
		}
		if op.Type() != glua.LTFunction {
			L.RaiseError("cannot perform concat operation between %v and %v", lhs.Type().String(), rhs.Type().String())
		}
		L.Push(op)
		L.Push(lhs)
		L.Push(rhs)
		L.Call(2, 1)
		rhs = L.Get(-1)
		L.Pop(1)
		i--
	}
	L.Push(rhs)
	return 1
}

// chargeArg returns orig charging first what cost says it will build.
func chargeArg(mem *sdk.Budget, orig glua.LGFunction, cost func(L *glua.LState) int) glua.LGFunction {
	return func(L *glua.LState) int {
		mem.Charge(L, cost(L))
		return orig(L)
	}
}

// chargeResults returns orig charging the strings it returned, for
// builders that cannot tell their size in advance.
func chargeResults(mem *sdk.Budget, orig glua.LGFunction) glua.LGFunction {
	return func(L *glua.LState) int {
		n := orig(L)
		for i := 1; i <= n; i++ {
			if s, ok := L.Get(-i).(glua.LString); ok {
				mem.Charge(L, len(s))
			}
		}
		return n
	}
}

// chargeStringLib charges the string functions that build strings and
// are not limiter's: upper and lower (Go's case mapping can triple
// invalid UTF-8), reverse, char, and gsub (charged once built; it is
// capped at max_string_size while it builds).
func chargeStringLib(L *glua.LState, str *glua.LTable, mem *sdk.Budget) {
	gfn := func(name string) glua.LGFunction { return str.RawGetString(name).(*glua.LFunction).GFunction }
	arg := func(L *glua.LState) int { return 3 * len(L.CheckString(1)) }
	for _, name := range []string{"upper", "lower"} {
		str.RawSetString(name, L.NewFunction(chargeArg(mem, gfn(name), arg)))
	}
	str.RawSetString("reverse", L.NewFunction(chargeArg(mem, gfn("reverse"), func(L *glua.LState) int { return len(L.CheckString(1)) })))
	str.RawSetString("char", L.NewFunction(chargeArg(mem, gfn("char"), func(L *glua.LState) int { return L.GetTop() })))
	str.RawSetString("gsub", L.NewFunction(chargeResults(mem, gfn("gsub"))))
}
