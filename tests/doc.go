// Package tests holds moongate's end-to-end tests: real gateways, real
// upstream servers and real HTTP on 127.0.0.1, and the moongate binary
// itself for the command line, signals and the default configuration.
package tests
