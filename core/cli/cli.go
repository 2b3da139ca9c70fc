package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/internal/registered"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
)

// DefaultConfig is the configuration file used when -c is not given.
const DefaultConfig = "conf/moongate.toml"

// moongate's own subcommands; plugins add theirs with
// plugin.RegisterCommand, in the same registry.
func init() {
	plugin.RegisterCommand("run", plugin.Command{Summary: "run the gateway: run [-c FILE]", Run: runCmd})
	plugin.RegisterCommand("validate", plugin.Command{Summary: "check a configuration and exit (problems and warnings on stderr): validate [-c FILE]", Run: validateCmd})
	plugin.RegisterCommand("version", plugin.Command{Summary: "print the version", Run: versionCmd})
}

// Main runs the command line in args (without the program name) and
// returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(stdout)
		return 0
	}
	c, ok := registered.Commands.Lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "moongate: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	return c.Run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: moongate <command> [flags]")
	fmt.Fprintln(w)
	for _, n := range registered.Commands.Names() {
		c, _ := registered.Commands.Lookup(n)
		fmt.Fprintf(w, "  %-10s %s\n", n, c.Summary)
	}
}

func configFlag(name string, args []string, stderr io.Writer) (string, bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", DefaultConfig, "configuration file")
	if err := fs.Parse(args); err != nil {
		return "", false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "moongate %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", false
	}
	return *file, true
}

func versionCmd(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "moongate", gateway.Version)
	return 0
}

func validateCmd(args []string, stdout, stderr io.Writer) int {
	file, ok := configFlag("validate", args, stderr)
	if !ok {
		return 2
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := gateway.Load(file, store.New(store.MinSize), logger)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// Warnings do not fail validation: they name what is allowed but
	// probably not meant (reload and run log the same lines).
	for _, w := range rt.Warnings() {
		fmt.Fprintln(stderr, w)
	}
	rt.Close(0)
	fmt.Fprintln(stdout, "ok")
	return 0
}

func runCmd(args []string, _, stderr io.Writer) int {
	file, ok := configFlag("run", args, stderr)
	if !ok {
		return 2
	}
	cfg, err := config.Load(file)
	if err != nil {
		// Report the problems of every layer, as validate does.
		if _, all := gateway.Load(file, store.New(store.MinSize), slog.New(slog.NewTextHandler(io.Discard, nil))); all != nil {
			err = all
		}
		fmt.Fprintln(stderr, err)
		return 1
	}
	logger := NewLogger(cfg.Log, stderr)
	slog.SetDefault(logger)
	g, err := gateway.New(cfg, logger)
	if err != nil {
		// In file order, as validate prints them: the checks of the
		// build (plugins, credentials of [[consumers]], ...) find them.
		var ps config.Problems
		if errors.As(err, &ps) {
			err = ps.Dedupe()
		}
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := g.Start(); err != nil {
		fmt.Fprintln(stderr, "moongate:", err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			g.Reload()
			continue
		}
		timeout := g.Runtime().Config.Server.ShutdownTimeout.Std()
		logger.Info("shutting down", "signal", sig.String(), "timeout", timeout.String())
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		start := time.Now()
		err := g.Shutdown(ctx)
		cancel()
		if err != nil {
			logger.Warn("shutdown timed out; remaining connections were cut", "error", err)
		}
		logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
		return 0
	}
	return 0
}

// NewLogger builds the process logger from [log].
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	switch cfg.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
