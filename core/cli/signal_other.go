//go:build !unix

package cli

import "os"

// reopenSignal: there is no SIGUSR1 here, so no signal asks for log files
// to be reopened; signal.Notify ignores a signal it does not know.
var reopenSignal os.Signal = noSignal{}

type noSignal struct{}

func (noSignal) String() string { return "none" }
func (noSignal) Signal()        {}
