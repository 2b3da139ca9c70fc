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
	plugin.RegisterCommand("version", plugin.Command{Summary: "print the version, the commit and the Go version it was built with", Run: versionCmd})
}

// Main runs the command line in args (without the program name) and
// returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	case "-v", "-version", "--version":
		return versionCmd(args[1:], stdout, stderr)
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
	fmt.Fprintln(w)
	fmt.Fprintln(w, "moongate -h, --help prints this; moongate -v, --version the version; moongate <command> -h a command's flags.")
}

// configFlag parses the flags of a command that takes -c FILE. When it
// reports !ok, the command exits with code: 0 after -h (the flags were
// printed on stdout), 2 after a mistake (printed on stderr).
func configFlag(name string, args []string, stdout, stderr io.Writer) (file string, code int, ok bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := fs.String("c", DefaultConfig, "configuration file")
	help := func(w io.Writer) {
		fmt.Fprintf(w, "usage: moongate %s [-c FILE]\n", name)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(stdout)
			return "", 0, false
		}
		fmt.Fprintf(stderr, "moongate %s: %v\n", name, err)
		help(stderr)
		return "", 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "moongate %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", 2, false
	}
	return *f, 0, true
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "moongate version: unexpected argument %q\n", args[0])
		return 2
	}
	fmt.Fprintln(stdout, gateway.VersionInfo())
	return 0
}

func validateCmd(args []string, stdout, stderr io.Writer) int {
	file, code, ok := configFlag("validate", args, stdout, stderr)
	if !ok {
		return code
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

func runCmd(args []string, stdout, stderr io.Writer) int {
	file, code, ok := configFlag("run", args, stdout, stderr)
	if !ok {
		return code
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
	// Signals are caught before the listeners open: one that comes while
	// they do is handled once they are.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, reopenSignal, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	if err := g.Start(); err != nil {
		fmt.Fprintln(stderr, "moongate:", err)
		return 1
	}
	notify(logger, "READY=1\nSTATUS=serving")
	var sig os.Signal
	for sig = range sigs {
		if sig == reopenSignal {
			if err := g.ReopenLogs(); err != nil {
				logger.Error("reopening log files failed; the old files keep being written", "error", err)
			} else {
				logger.Info("log files reopened")
			}
			continue
		}
		if sig != syscall.SIGHUP {
			break
		}
		notifyReloading(logger)
		res := g.Reload()
		status := "STATUS=serving"
		if !res.OK {
			status = "STATUS=serving; the last reload was refused (see the log)"
		}
		notify(logger, "READY=1\n"+status)
	}
	stop(g, sig, sigs, logger)
	return 0
}

// stop ends the gateway after sig: it drains for shutdown_delay (readyz
// fails, the listeners keep serving, responses close their connections),
// unless a second SIGTERM or SIGINT cuts the delay short, then stops
// accepting and waits for in-flight requests up to shutdown_timeout.
func stop(g *gateway.Gateway, sig os.Signal, sigs <-chan os.Signal, logger *slog.Logger) {
	srv := g.Runtime().Config.Server
	notify(logger, "STOPPING=1\nSTATUS=draining")
	g.Drain()
	if delay := srv.ShutdownDelay.Std(); delay > 0 {
		logger.Info("draining: /readyz answers 503, the listeners serve on for shutdown_delay",
			"signal", sig.String(), "shutdown_delay", delay.String())
		t := time.NewTimer(delay)
	wait:
		for {
			select {
			case <-t.C:
				break wait
			case s := <-sigs:
				if s == syscall.SIGHUP {
					logger.Info("reload ignored: the gateway is shutting down")
					continue
				}
				if s == reopenSignal {
					if err := g.ReopenLogs(); err != nil {
						logger.Error("reopening log files failed; the old files keep being written", "error", err)
					}
					continue
				}
				logger.Info("second signal: shutdown_delay cut short", "signal", s.String())
				t.Stop()
				break wait
			}
		}
	}
	timeout := srv.ShutdownTimeout.Std()
	logger.Info("shutting down", "signal", sig.String(), "timeout", timeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	if err := g.Shutdown(ctx); err != nil {
		logger.Warn("shutdown timed out; remaining connections were cut", "error", err)
	}
	logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
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
