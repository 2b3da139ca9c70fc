package plugin_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/plugin"
)

// panicOf returns what f panics with, "" if it does not.
func panicOf(f func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	f()
	return ""
}

// TestRegisteredTwicePanicsNamingBothPlaces: a command or an admin
// endpoint registered twice panics with the place of each registration,
// the plugin's own code (here, this file), never the contract's.
func TestRegisteredTwicePanicsNamingBothPlaces(t *testing.T) {
	run := func([]string, io.Writer, io.Writer) int { return 0 }
	admin := func(*plugin.AdminRequest) {}
	for name, register := range map[string]func(){
		"command":        func() { plugin.RegisterCommand("test-twice", plugin.Command{Run: run}) },
		"admin endpoint": func() { plugin.HandleAdmin("GET", "/test/twice", admin) },
	} {
		if msg := panicOf(register); msg != "" {
			t.Fatalf("%s: first registration panicked: %s", name, msg)
		}
		msg := panicOf(register)
		if !strings.Contains(msg, name) || strings.Count(msg, "register_test.go:") != 2 {
			t.Errorf("%s registered twice: panic %q, want both places in register_test.go", name, msg)
		}
	}
}
