package upstream

import (
	"context"
	"net"
	"slices"
	"time"
)

// lookupHost resolves a host name; tests replace it.
var lookupHost = func(ctx context.Context, host string) ([]string, error) {
	return net.DefaultResolver.LookupHost(ctx, host)
}

// startResolver resolves the targets given by host name now, then every
// resolve_interval in the background. A failed resolution keeps the
// addresses of the last good one.
func (u *Upstream) startResolver() {
	var named []*Target
	for _, t := range u.targets {
		if t.hostname != "" {
			named = append(named, t)
		}
	}
	if len(named) == 0 {
		return
	}
	lookup := lookupHost
	for _, t := range named {
		u.resolve(lookup, t)
	}
	every := u.cfg.ResolveInterval.Std()
	if every <= 0 {
		return
	}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-u.ctx.Done():
				return
			case <-tick.C:
				for _, t := range named {
					u.resolve(lookup, t)
				}
			}
		}
	}()
}

func (u *Upstream) resolve(lookup func(context.Context, string) ([]string, error), t *Target) {
	ctx, cancel := context.WithTimeout(u.ctx, 5*time.Second)
	defer cancel()
	ips, err := lookup(ctx, t.hostname)
	st := &resolveState{at: time.Now()}
	if err != nil || len(ips) == 0 {
		if err != nil {
			st.err = err.Error()
		} else {
			st.err = "no addresses"
		}
		t.resolve.Store(st)
		return
	}
	slices.Sort(ips)
	addrs := make([]string, len(ips))
	for i, ip := range ips {
		addrs[i] = net.JoinHostPort(ip, t.port)
	}
	t.addrs.Store(&addrs)
	t.resolve.Store(st)
}
