// Package chain is moongate's engine: it builds the chains of a
// configuration from the registered plugins (Builder) and runs a route's
// chain of steps around the upstream call (Route.Serve), then the log
// phase on worker goroutines (FinishLog). Plugins never see it: they
// program against core/plugin, whose Context is this package's Context
// seen through the contract (see core/internal/reqctx).
package chain
