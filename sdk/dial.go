package sdk

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/plugin"
	"github.com/valyala/fasthttp"
)

// HTTPPolicy decides which addresses gw.http may connect to. It is checked
// when a connection is made, on every address the URL's host resolves to,
// so that a host name cannot lead a script where an address could not
// (a name resolving to 169.254.169.254, a DNS-rebinding name). An address
// of this process's admin API and an unspecified address (0.0.0.0, [::],
// which connect to this host) are always refused.
type HTTPPolicy struct {
	// Deny lists the refused ranges (lua.http_deny).
	Deny []netip.Prefix
	// Allow lists exceptions to Deny (lua.http_allow).
	Allow []netip.Prefix
}

// NewHTTPPolicy parses lua.http_deny and lua.http_allow: addresses and
// CIDRs.
func NewHTTPPolicy(deny, allow []string) (*HTTPPolicy, error) {
	p := &HTTPPolicy{}
	for _, l := range []struct {
		in  []string
		out *[]netip.Prefix
	}{{deny, &p.Deny}, {allow, &p.Allow}} {
		for _, s := range l.in {
			pfx, err := config.ParsePrefix(s)
			if err != nil {
				return nil, errors.New("not an IP address or CIDR: " + strconv.Quote(s))
			}
			*l.out = append(*l.out, pfx)
		}
	}
	return p, nil
}

// DefaultHTTPPolicy returns the policy of lua.http_deny's default.
func DefaultHTTPPolicy() *HTTPPolicy {
	p, err := NewHTTPPolicy(config.DefaultHTTPDeny, nil)
	if err != nil {
		panic(err) // the default is a constant
	}
	return p
}

// RefusedError is the error of a connection that the policy refused.
type RefusedError struct {
	// Addr is the refused address.
	Addr netip.AddrPort
	// Reason says which rule refused it.
	Reason string
}

func (e *RefusedError) Error() string {
	return "connection to " + e.Addr.String() + " refused: " + e.Reason
}

// Check returns a *RefusedError when a connection to dst is not allowed.
func (p *HTTPPolicy) Check(dst netip.AddrPort) error {
	ip := dst.Addr().Unmap().WithZone("")
	switch {
	case plugin.ReachesAdmin(netip.AddrPortFrom(ip, dst.Port())):
		return &RefusedError{dst, "it is the admin API"}
	case ip.IsUnspecified():
		return &RefusedError{dst, "an unspecified address connects to this host"}
	case contains(p.Deny, ip) && !contains(p.Allow, ip):
		return &RefusedError{dst, "lua.http_deny covers it"}
	}
	return nil
}

func contains(list []netip.Prefix, ip netip.Addr) bool {
	for _, p := range list {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// key identifies the policy, for sharing one client per policy.
func (p *HTTPPolicy) key() string {
	var b strings.Builder
	for _, l := range [][]netip.Prefix{p.Deny, p.Allow} {
		for _, pfx := range l {
			b.WriteString(pfx.String())
			b.WriteByte(',')
		}
		b.WriteByte(';')
	}
	return b.String()
}

// dial resolves addr's host, checks every address it resolves to, and
// connects to the first that answers. The connection is made to the
// checked address itself, never to a name resolved again.
func (p *HTTPPolicy) dial(addr string, timeout time.Duration) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, errors.New("invalid port " + strconv.Quote(portText))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, err
	}
	var v4, v6 []netip.AddrPort
	for _, ip := range ips {
		dst := netip.AddrPortFrom(ip.Unmap(), uint16(port))
		if err := p.Check(dst); err != nil {
			return nil, err
		}
		if dst.Addr().Is4() {
			v4 = append(v4, dst)
		} else {
			v6 = append(v6, dst)
		}
	}
	// IPv4 first, as fasthttp's own dialer prefers it.
	dsts := append(v4, v6...)
	var d net.Dialer
	var first error
	for _, dst := range dsts {
		c, err := d.DialContext(ctx, "tcp", dst.String())
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = errors.New("no address for " + host)
	}
	return nil, first
}

var (
	clientsMu sync.Mutex
	clients   = map[string]*fasthttp.Client{}
)

// client returns the client gw.http uses under p: one per process and
// policy (a reload with the same policy keeps its pooled connections),
// keeping a pool of keep-alive connections per host.
func (p *HTTPPolicy) client() *fasthttp.Client {
	k := p.key()
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c := clients[k]; c != nil {
		return c
	}
	c := &fasthttp.Client{
		Name:                     "moongate-lua",
		MaxConnsPerHost:          512,
		MaxIdleConnDuration:      30 * time.Second,
		ReadTimeout:              30 * time.Second,
		WriteTimeout:             30 * time.Second,
		MaxResponseBodySize:      16 << 20,
		NoDefaultUserAgentHeader: true,
		DialTimeout:              p.dial,
	}
	clients[k] = c
	return c
}
