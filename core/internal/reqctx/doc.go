// Package reqctx is the request context behind plugin.Context: the state
// of one request on its way through a chain, and the operations on it.
//
// The type is split in two on purpose. Context here holds every field
// and every operation, those steps may use and those only the engine may
// (Acquire, Setup, SetPhase, PrepareLog, ...). core/plugin declares its
// own type on it, `type Context reqctx.Context`, with methods for the
// first kind only: a defined type has none of the methods of the type it
// is defined on, and a plugin cannot convert to this one, since it
// cannot import an internal package. So the compiler keeps plugins to
// the contract, and the contract's documentation (go doc ./core/plugin)
// shows every method a plugin author may call, while the engine
// (core/internal/chain, core/gateway, core/upstream) works on this type
// and converts a pointer, at no cost, where it calls a plugin.
//
// Context must not embed a type with exported methods or fields: they
// would be promoted to plugin.Context, past the contract.
package reqctx
