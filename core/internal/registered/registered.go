// Package registered holds what plugins add to moongate besides steps:
// subcommands of the command line and endpoints of the admin API. A
// plugin registers them through the contract, from init
// (plugin.RegisterCommand, plugin.HandleAdmin); the engine reads them
// here (core/cli runs the commands, core/gateway serves the endpoints),
// out of the plugin author's view.
package registered

import (
	"io"
	"log/slog"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/registry"
	"github.com/moongate/moongate/core/store"
	"github.com/valyala/fasthttp"
)

// Command is a subcommand of the moongate command line, as plugin.Command
// describes it: it gets the arguments after its name and returns the
// process exit code.
type Command struct {
	// Summary is its line in `moongate help`.
	Summary string
	// Run runs it.
	Run func(args []string, stdout, stderr io.Writer) int
}

// Commands are the subcommands, by name. plugin.RegisterCommand adds to
// it (a duplicate panics, naming both places).
var Commands = registry.New[Command]("command")

// AdminEndpoint is an endpoint a plugin adds to the admin API
// (plugin.HandleAdmin).
type AdminEndpoint struct {
	// Method and Path are where it is served: an exact path, or every
	// path under one that ends in "/".
	Method, Path string
	// Serve answers ctx, given what the gateway is serving when the
	// request arrives: its configuration, the shared store and the
	// process logger.
	Serve func(ctx *fasthttp.RequestCtx, cfg *config.Config, st *store.Store, logger *slog.Logger)
}

// AdminEndpoints are the endpoints, by "METHOD path", in the order they
// were added. plugin.HandleAdmin adds to it (a duplicate panics, naming
// both places).
var AdminEndpoints = registry.New[AdminEndpoint]("admin endpoint")
