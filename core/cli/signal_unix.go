//go:build unix

package cli

import (
	"os"
	"syscall"
)

// reopenSignal asks for the log files to be reopened (after logrotate).
var reopenSignal os.Signal = syscall.SIGUSR1
