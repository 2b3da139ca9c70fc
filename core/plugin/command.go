package plugin

import (
	"io"

	"github.com/moongate/moongate/core/internal/registered"
)

// Command is a subcommand of the moongate command line: it gets the
// arguments after its name and returns the process exit code.
type Command struct {
	// Summary is its line in `moongate help`: what it does, then its usage.
	Summary string
	// Run runs it.
	Run func(args []string, stdout, stderr io.Writer) int
}

// RegisterCommand adds a subcommand to the moongate command line (`moongate
// script ...`); moongate's own (run, validate, version) are registered the
// same way. It is meant to be called from init; an empty or duplicate name
// panics, naming both places of registration.
func RegisterCommand(name string, c Command) {
	if c.Run == nil {
		panic("plugin: RegisterCommand needs a Run function")
	}
	registered.Commands.Register(name, registered.Command(c))
}
