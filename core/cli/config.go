package cli

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/gateway"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/store"
)

func init() {
	plugin.RegisterCommand("config", plugin.Command{
		Summary: "print the configuration as moongate reads it (defaults filled, ${VAR} expanded, paths resolved, secrets redacted): config dump [-c FILE]",
		Run:     configCmd,
	})
}

func configCmd(args []string, stdout, stderr io.Writer) int {
	const use = "usage: moongate config dump [-c FILE]"
	if len(args) == 0 {
		fmt.Fprintln(stderr, use)
		return 2
	}
	switch args[0] {
	case "dump":
		return dumpCmd(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, use)
		return 0
	}
	fmt.Fprintf(stderr, "moongate config: unknown subcommand %q\n%s\n", args[0], use)
	return 2
}

// dumpCmd checks the configuration as validate does, then prints it as
// TOML: what every plugin decoded is recorded while it is built.
func dumpCmd(args []string, stdout, stderr io.Writer) int {
	file, code, ok := configFlag("config dump", args, stdout, stderr)
	if !ok {
		return code
	}
	cfg, err := config.Load(file)
	if cfg == nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	decoded := map[string][]any{}
	cfg.RecordDecodes(func(path string, v any) { decoded[path] = append(decoded[path], v) })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := gateway.BuildLoaded(cfg, err, store.New(store.MinSize), logger)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rt.Close(0)
	for _, w := range rt.Warnings() {
		fmt.Fprintln(stderr, w)
	}
	fmt.Fprintf(stdout, "# %s as moongate reads it (sha256 %s): every key with its value, defaults filled,\n"+
		"# ${VAR} expanded, relative paths resolved, secrets written %q.\n", file, cfg.Hash, config.Redacted)
	if err := cfg.Dump(stdout, decoded); err != nil {
		fmt.Fprintln(stderr, "moongate config dump:", err)
		return 1
	}
	return 0
}
