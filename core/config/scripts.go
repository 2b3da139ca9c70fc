package config

import (
	"slices"
	"strconv"
	"time"
)

// Lua configures the Lua script engine: where scripts and the modules
// they require live, and the limits every script call runs under.
type Lua struct {
	// Dir is the folder `require` loads helper modules from (and the one
	// watched when Watch is on), relative to the configuration file's
	// folder. Script steps may name files anywhere. Default "scripts".
	Dir string `toml:"dir,path"`
	// Timeout is the wall-clock deadline of each call of a script's
	// on_request, on_response or on_log, and of the gw.http calls made
	// from it; a step's own timeout overrides it. It is a backstop for
	// calls that wait (gw.http) or are stuck: the CPU a call may use is
	// bounded by MaxInstructions, which a busy machine cannot trip. Past
	// it the request gets 500 and the Lua state is thrown away. Default
	// "1s" (it was "10ms", which failed trivial calls whose goroutine
	// merely waited for a CPU); at most "30s".
	Timeout Duration `toml:"timeout"`
	// MaxInstructions bounds the Lua VM instructions one call of
	// on_request, on_response or on_log (and the loading of a state)
	// may run; pattern searches (string.find, match, gmatch, gsub) count
	// one instruction per 4 steps of matching. Past it the call fails as
	// a timeout, the request gets 500 and the Lua state is thrown away.
	// The count does not depend on the machine's load. A step's own
	// max_instructions overrides it. Default 1000000 (about 10-80 ms of
	// CPU, depending on the instructions); at least 1000.
	MaxInstructions int64 `toml:"max_instructions"`
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
	// SharedSize bounds each script's gw.shared dictionary (its node-local
	// counters and values): keys and values, plus about 64 bytes per
	// entry. When a write finds no room, expired entries are dropped; if
	// there is still none, the write fails (gw.shared.set, add and incr
	// return nil and "no room"): a live counter is never evicted, so a
	// limit built on it never resets early. Default "8MB"; at least "64KB".
	SharedSize Size `toml:"shared_size"`
	// Watch reloads the configuration when a file under Dir changes (for
	// development). Default false.
	Watch bool `toml:"watch"`
	// HTTPDeny lists the addresses and CIDRs gw.http may not connect to,
	// checked on the resolved address of each connection (a host name
	// that resolves into one is refused too). Setting it replaces the
	// default: link-local addresses, where cloud metadata services live
	// (169.254.169.254 among them), and AWS's IPv6 metadata address.
	// Add "127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12",
	// "192.168.0.0/16" and "fc00::/7" to keep scripts off loopback and
	// private networks. Whatever it says, the admin API's own address is
	// always refused. Default ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254"].
	HTTPDeny []string `toml:"http_deny"`
	// HTTPAllow lists exceptions to HTTPDeny (a service a script must
	// reach inside a denied range). Default: none.
	HTTPAllow []string `toml:"http_allow"`
}

// DefaultHTTPDeny is lua.http_deny's default: link-local addresses (cloud
// metadata services, 169.254.169.254 among them) and AWS's IPv6 metadata
// address.
var DefaultHTTPDeny = []string{"169.254.0.0/16", "fe80::/10", "fd00:ec2::254"}

// DefaultLuaTimeout is lua.timeout's default: the wall-clock backstop of
// a script call.
const DefaultLuaTimeout = time.Second

// DefaultMaxInstructions is lua.max_instructions' default.
const DefaultMaxInstructions = 1_000_000

// minMaxInstructions is the smallest lua.max_instructions (or a step's
// max_instructions) accepted: a trivial call runs about 20.
const minMaxInstructions = 1000

// maxLuaTimeout bounds lua.timeout and step timeouts: a script call
// holds a Lua state and a request goroutine for that long.
const maxLuaTimeout = 30 * time.Second

// DefaultLua returns the [lua] defaults.
func DefaultLua() Lua {
	return Lua{Dir: "scripts", Timeout: Duration(DefaultLuaTimeout), MaxInstructions: DefaultMaxInstructions, MaxStringSize: 16 << 20, MaxStateSize: 64 << 20,
		MaxMemory: 32 << 20, SharedSize: 8 << 20, HTTPDeny: slices.Clone(DefaultHTTPDeny)}
}

func (c *Config) checkLua(rep *reporter) {
	l := &c.Lua
	if l.Dir == "" {
		rep.add("lua.dir", "must not be empty")
	}
	if l.Timeout == 0 || l.Timeout.Std() > maxLuaTimeout {
		rep.add("lua.timeout", "must be more than 0s and at most 30s, got "+l.Timeout.String())
	}
	if l.MaxInstructions < minMaxInstructions {
		rep.add("lua.max_instructions", "must be at least 1000, got "+strconv.FormatInt(l.MaxInstructions, 10))
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
	if l.SharedSize < 64<<10 || l.SharedSize > 1<<40 {
		rep.add("lua.shared_size", "must be at least 64KB and at most 1TB, got "+l.SharedSize.String())
	}
	for _, list := range []struct {
		key   string
		items []string
	}{{"lua.http_deny", l.HTTPDeny}, {"lua.http_allow", l.HTTPAllow}} {
		for i, p := range list.items {
			if _, err := ParsePrefix(p); err != nil {
				rep.add(indexPath(list.key, i), "is not an IP address or CIDR: "+strconv.Quote(p))
			}
		}
	}
}
