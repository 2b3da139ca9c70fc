package admin

import (
	"net"
	"net/netip"
	"sync"
)

// The addresses of the admin APIs listening in this process, for the
// callers that must never connect to them (Lua scripts' gw.http).
var (
	liveMu sync.Mutex
	live   []netip.AddrPort
)

func addLive(a netip.AddrPort) {
	liveMu.Lock()
	defer liveMu.Unlock()
	live = append(live, a)
}

func removeLive(a netip.AddrPort) {
	liveMu.Lock()
	defer liveMu.Unlock()
	for i, x := range live {
		if x == a {
			live = append(live[:i], live[i+1:]...)
			return
		}
	}
}

// Reaches reports whether a connection to dst would reach an admin API
// listening in this process: the address it is bound to, or, for one
// bound to all addresses (0.0.0.0, [::]), any address of this host on its
// port. An unspecified dst (which connects to this host) counts as well.
// It is safe for concurrent use.
func Reaches(dst netip.AddrPort) bool {
	liveMu.Lock()
	addrs := append([]netip.AddrPort(nil), live...)
	liveMu.Unlock()
	ip := dst.Addr().Unmap().WithZone("")
	var local map[netip.Addr]bool
	for _, a := range addrs {
		if a.Port() != dst.Port() {
			continue
		}
		bound := a.Addr().Unmap().WithZone("")
		if ip == bound || ip.IsUnspecified() {
			return true
		}
		if !bound.IsUnspecified() {
			continue
		}
		if ip.IsLoopback() {
			return true
		}
		if local == nil {
			local = localAddrs()
		}
		if local[ip] {
			return true
		}
	}
	return false
}

// localAddrs returns the addresses of this host's interfaces.
func localAddrs() map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out[ip.Unmap()] = true
			}
		}
	}
	return out
}
