// Package cli is the moongate command line: run, validate, version, and
// the subcommands other packages add with Register (such as "script").
package cli
