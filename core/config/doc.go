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
package config
