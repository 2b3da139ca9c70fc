package upstream

import (
	"math/rand/v2"
	"time"

	"github.com/valyala/fasthttp"
)

// startHealthChecks starts one goroutine per target asking it for
// health.path every health.interval, when a path is configured. They stop
// when Close cancels the upstream's context.
func (u *Upstream) startHealthChecks() {
	if u.cfg.Health.Path == "" {
		return
	}
	for _, t := range u.targets {
		u.wg.Add(1)
		go u.checkLoop(t)
	}
}

func (u *Upstream) checkLoop(t *Target) {
	defer u.wg.Done()
	h := &u.cfg.Health
	interval := h.Interval.Std()
	hc := &fasthttp.HostClient{
		Addr:                     t.Addr,
		IsTLS:                    t.isTLS,
		TLSConfig:                t.tlsConfig,
		DialTimeout:              t.dialTimeout,
		MaxConns:                 1,
		MaxIdleConnDuration:      2 * interval,
		NoDefaultUserAgentHeader: true,
		Name:                     "moongate-health",
	}
	defer hc.CloseIdleConnections()
	statuses := newStatusSet(h.Statuses)
	if len(h.Statuses) == 0 {
		for s := 200; s < 400; s++ {
			statuses[s/64] |= 1 << (s % 64)
		}
	}
	host := h.Host
	if host == "" {
		host = string(t.host)
	}
	scheme := "http://"
	if t.isTLS {
		scheme = "https://"
	}
	url := scheme + host + h.Path

	// Spread the first checks of many targets over one interval.
	timer := time.NewTimer(time.Duration(rand.Int64N(int64(interval)/4 + 1)))
	defer timer.Stop()
	var passes, fails int
	for {
		select {
		case <-u.ctx.Done():
			return
		case <-timer.C:
		}
		ok := u.check(hc, url, h.Timeout.Std(), &statuses)
		if ok {
			fails = 0
			passes++
			if t.activeDown.Load() && passes >= h.HealthyThreshold {
				t.activeDown.Store(false)
			}
			// A passing check ends an ejection early.
			if t.ejectedUntil.Load() != 0 {
				t.ejectedUntil.Store(0)
				t.consecutive.Store(0)
			}
		} else {
			passes = 0
			fails++
			if !t.activeDown.Load() && fails >= h.UnhealthyThreshold {
				t.activeDown.Store(true)
			}
		}
		timer.Reset(interval)
	}
}

func (u *Upstream) check(hc *fasthttp.HostClient, url string, timeout time.Duration, ok *statusSet) bool {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.Set("User-Agent", "moongate-health")
	resp.SkipBody = false
	if err := hc.DoTimeout(req, resp, timeout); err != nil {
		return false
	}
	return ok.has(resp.StatusCode())
}
