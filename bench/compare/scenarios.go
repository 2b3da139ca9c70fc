package main

import (
	"strings"

	"github.com/moongate/moongate/bench/origin"
)

// Kinds of contender: the program that runs.
const (
	kindMoongate = "moongate"
	kindNginx    = "nginx"
	kindHAProxy  = "haproxy"
	kindVarnish  = "varnish"
	kindFloor    = "floor"
)

// apiKey is the key of the chain scenario's one consumer.
const apiKey = "bench-key-7f3c2a91d4"

// Contender is one program with one configuration in a scenario.
type Contender struct {
	// Name identifies it in the table.
	Name string
	// Kind is the program (kindMoongate, ...).
	Kind string
	// Template is its configuration in bench/conf, without ".tmpl"; "" for
	// the floor, which has none.
	Template string
	// Peer is the contender its requests/s are divided by in the same
	// round and body size; "" for none.
	Peer string
	// Expect is what its responses must show.
	Expect Expect
}

// Scenario is a set of contenders driven with the same requests.
type Scenario struct {
	// Name is the name used by -scenarios.
	Name string
	// Title heads its table.
	Title string
	// Paths are the origin paths requested, one measured run each.
	Paths []string
	// Headers are sent with every request (wrk -H, and the checks).
	Headers []string
	// Idle marks the idle-connections scenario, which measures memory
	// instead of driving load.
	Idle bool
	// Contenders are the programs compared.
	Contenders []Contender
}

// forwarded are the request headers moongate adds for the upstream; every
// plain proxy is configured to send them too.
var forwarded = []string{"X-Forwarded-For", "X-Real-IP", "X-Forwarded-Proto", "X-Forwarded-Host"}

var (
	expectPlain = Expect{Upstream: forwarded}
	expectGo    = Expect{Response: []string{"X-Request-Id", "X-Served-By"},
		Upstream: append([]string{"X-Request-Id", "X-Gateway"}, forwarded...)}
	expectLua   = Expect{Upstream: append([]string{"X-Lua"}, forwarded...)}
	expectChain = Expect{Response: []string{"X-Request-Id", "X-Served-By"},
		Upstream:  append([]string{"X-Request-Id", "X-Gateway", "X-Lua", "X-Consumer-Name"}, forwarded...),
		KeyHeader: "X-API-Key"}
	expectCache     = Expect{CacheHit: true}
	expectRateLimit = Expect{Response: []string{"RateLimit", "RateLimit-Policy"}, Upstream: forwarded}
)

// scenarios are the four scenarios of issue 3, each against its natural
// peers, the access log's cost (issue 13), moongate's beside nginx's, the
// rate-limit scenario of issue 14, and the default features of issues
// 8-14 together against the bare proxy (issue 17).
var scenarios = []Scenario{
	{
		Name:  "plain",
		Title: "1. Plain reverse proxy (keep-alive)",
		Paths: []string{origin.SmallPath, origin.LargePath},
		Contenders: []Contender{
			{Name: "nginx", Kind: kindNginx, Template: "nginx-plain.conf", Peer: "nginx", Expect: expectPlain},
			{Name: "moongate", Kind: kindMoongate, Template: "moongate-plain.toml", Peer: "nginx", Expect: expectPlain},
			{Name: "haproxy", Kind: kindHAProxy, Template: "haproxy.cfg", Peer: "nginx", Expect: expectPlain},
			{Name: "floor", Kind: kindFloor, Peer: "nginx", Expect: expectPlain},
		},
	},
	{
		Name:    "chain",
		Title:   "2. Realistic chain (request-id, key-auth, headers, one Lua step)",
		Paths:   []string{origin.SmallPath},
		Headers: []string{"X-API-Key: " + apiKey},
		Contenders: []Contender{
			{Name: "moongate", Kind: kindMoongate, Template: "moongate-plain.toml", Expect: expectPlain},
			{Name: "moongate-go", Kind: kindMoongate, Template: "moongate-go.toml", Peer: "nginx-go", Expect: expectGo},
			{Name: "moongate-lua", Kind: kindMoongate, Template: "moongate-lua.toml", Peer: "moongate", Expect: expectLua},
			{Name: "moongate-chain", Kind: kindMoongate, Template: "moongate-chain.toml", Peer: "nginx-lua", Expect: expectChain},
			{Name: "nginx-go", Kind: kindNginx, Template: "nginx-go.conf", Peer: "nginx-go", Expect: expectGo},
			{Name: "nginx-lua", Kind: kindNginx, Template: "nginx-lua.conf", Peer: "nginx-lua", Expect: expectChain},
		},
	},
	{
		Name:  "cache",
		Title: "3. Cache hits",
		Paths: []string{origin.SmallPath, origin.LargePath},
		Contenders: []Contender{
			{Name: "nginx-cache", Kind: kindNginx, Template: "nginx-cache.conf", Peer: "nginx-cache", Expect: expectCache},
			{Name: "moongate-cache", Kind: kindMoongate, Template: "moongate-cache.toml", Peer: "nginx-cache", Expect: expectCache},
			{Name: "varnish", Kind: kindVarnish, Template: "varnish.vcl", Peer: "nginx-cache", Expect: expectCache},
		},
	},
	{
		Name:  "accesslog",
		Title: "5. Access log (a JSON line per request to a file, buffered)",
		Paths: []string{origin.SmallPath},
		Contenders: []Contender{
			{Name: "moongate", Kind: kindMoongate, Template: "moongate-plain.toml", Peer: "moongate", Expect: expectPlain},
			{Name: "moongate-accesslog", Kind: kindMoongate, Template: "moongate-accesslog.toml", Peer: "moongate", Expect: expectPlain},
			{Name: "nginx", Kind: kindNginx, Template: "nginx-plain.conf", Peer: "nginx", Expect: expectPlain},
			{Name: "nginx-accesslog", Kind: kindNginx, Template: "nginx-accesslog.conf", Peer: "nginx", Expect: expectPlain},
		},
	},
	{
		Name:  "idle",
		Title: "4. Idle keep-alive connections",
		Paths: []string{origin.SmallPath},
		Idle:  true,
		Contenders: []Contender{
			{Name: "nginx", Kind: kindNginx, Template: "nginx-plain.conf", Peer: "nginx"},
			{Name: "moongate", Kind: kindMoongate, Template: "moongate-plain.toml", Peer: "nginx"},
		},
	},
	{
		Name:  "ratelimit",
		Title: "6. Rate limiting (the plain proxy, with a local rate limit, with a rate limit on Redis)",
		Paths: []string{origin.SmallPath},
		Contenders: []Contender{
			{Name: "moongate", Kind: kindMoongate, Template: "moongate-plain.toml", Expect: expectPlain},
			{Name: "moongate-rl-local", Kind: kindMoongate, Template: "moongate-ratelimit-local.toml", Peer: "moongate", Expect: expectRateLimit},
			{Name: "moongate-rl-redis", Kind: kindMoongate, Template: "moongate-ratelimit-redis.toml", Peer: "moongate", Expect: expectRateLimit},
		},
	},
	{
		Name:  "features",
		Title: "7. Features on (metrics, access log, local rate limit) against the bare proxy",
		Paths: []string{origin.SmallPath},
		Contenders: []Contender{
			{Name: "moongate-bare", Kind: kindMoongate, Template: "moongate-bare.toml", Peer: "moongate-bare", Expect: expectPlain},
			{Name: "moongate-features", Kind: kindMoongate, Template: "moongate-features.toml", Peer: "moongate-bare", Expect: expectRateLimit},
		},
	},
}

// needsRedis reports whether a contender's configuration uses the
// harness's redis-server.
func needsRedis(c Contender) bool { return strings.Contains(c.Template, "redis") }

// scenarioNames lists the scenarios' names, comma-separated.
func scenarioNames() string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func findScenario(name string) (Scenario, bool) {
	for _, s := range scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}
