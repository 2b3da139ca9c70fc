package config

import "time"

// Lua configures the Lua script engine: where scripts and the modules
// they require live, and the limits every script call runs under.
type Lua struct {
	// Dir is the folder `require` loads helper modules from (and the one
	// watched when Watch is on). Script steps may name files anywhere.
	// Default "scripts".
	Dir string `toml:"dir"`
	// Timeout bounds each call of a script's on_request, on_response or
	// on_log (including gw.http calls made from it); a step's own timeout
	// overrides it. Past it the request gets 500 and the Lua state is
	// thrown away. Default "10ms"; at most "30s".
	Timeout Duration `toml:"timeout"`
	// MaxStringSize bounds any string built by a library function
	// (string.rep, string.format, string.gsub, table.concat, gw.json,
	// gw.base64, ...); a call that would exceed it raises an error.
	// Default "16MB".
	MaxStringSize Size `toml:"max_string_size"`
	// MaxStateSize bounds what a pooled Lua state may keep between calls
	// (globals, module tables, upvalues), estimated every 256 calls of a state; a
	// state over it is thrown away and the event logged. Default "64MB".
	MaxStateSize Size `toml:"max_state_size"`
	// MaxMemory bounds the bytes one call of on_request, on_response or
	// on_log (and the loading of a state: the main chunk and the modules
	// it requires) may build: every string a call makes (`..`, string.rep,
	// string.format, table.concat, gw.json, gw.base64, strings gw.*
	// functions return, ...) and the tables gw.* functions build (decoded
	// JSON, header tables) are counted, garbage included; past it the call
	// fails with "memory limit exceeded" and its state is thrown away.
	// Default "32MB".
	MaxMemory Size `toml:"max_memory"`
	// Watch reloads the configuration when a file under Dir changes (for
	// development). Default false.
	Watch bool `toml:"watch"`
}

// maxLuaTimeout bounds lua.timeout and step timeouts: a script call
// holds a Lua state and a request goroutine for that long.
const maxLuaTimeout = 30 * time.Second

// DefaultLua returns the [lua] defaults.
func DefaultLua() Lua {
	return Lua{Dir: "scripts", Timeout: Duration(10 * time.Millisecond), MaxStringSize: 16 << 20, MaxStateSize: 64 << 20,
		MaxMemory: 32 << 20}
}

func (c *Config) checkLua(rep *reporter) {
	l := &c.Lua
	if l.Dir == "" {
		rep.add("lua.dir", "must not be empty")
	}
	if l.Timeout == 0 || l.Timeout.Std() > maxLuaTimeout {
		rep.add("lua.timeout", "must be more than 0s and at most 30s, got "+l.Timeout.String())
	}
	if l.MaxStringSize < 1024 {
		rep.add("lua.max_string_size", "must be at least 1KB, got "+l.MaxStringSize.String())
	}
	if l.MaxStateSize < 1<<20 {
		rep.add("lua.max_state_size", "must be at least 1MB, got "+l.MaxStateSize.String())
	}
	if l.MaxMemory < 1<<20 || l.MaxMemory > 1<<40 {
		rep.add("lua.max_memory", "must be at least 1MB and at most 1TB, got "+l.MaxMemory.String())
	}
}
