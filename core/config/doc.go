// Package config reads moongate's TOML configuration into typed structs and
// reports every problem at once, each as "file:line: key.path: reason".
//
// Decoding is strict: an unknown key is an error (a typo must never silently
// disable a plugin), every value is type-checked, and "${VAR}" in any string
// value is replaced by the environment variable VAR (a missing variable is an
// error; "${VAR:-fallback}" supplies a fallback and "$${" writes a literal
// "${"). Durations are written "250ms" or "30s", sizes "8KB" or "512MB".
//
// A plugin's own table stays undecoded, as a Table, until the plugin's
// factory decodes it into its own struct with Table.Decode, with the same
// strictness and the same error positions.
//
// Relative file paths are relative to the configuration file's folder
// (see ResolvePath). Config.Dump prints a configuration as it was read
// (`moongate config dump`), and Schema makes the JSON Schema of the file
// from the same structs: `go generate ./core/config` writes it to
// docs/moongate.schema.json, and a test fails when it is stale.
package config

//go:generate go test -count=1 -run ^TestSchemaUpToDate$ ../../cmd/moongate -args -update
