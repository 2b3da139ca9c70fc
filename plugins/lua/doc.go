// Package lua runs Lua scripts as chain steps: `script = "scripts/x.lua"`
// in a chain. It registers the ".lua" script engine with core/plugin and
// the `moongate script` command (run one script against a synthetic
// request; run a folder's *_test.lua files).
//
// A script is compiled once per configuration load. A pool of ready Lua
// states per step (sandboxed, SDK bound, main chunk run) serves its
// calls; a state serves one call at a time, under a budget of VM
// instructions and a wall-clock deadline (watchdog.go). The sandbox
// and its limits are described in docs/lua.md, "Limits".
package lua
