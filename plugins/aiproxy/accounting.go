package aiproxy

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/moongate/moongate/plugins/aiproxy/usage"
)

// The per-request values ai-proxy sets on the request context, for the
// steps after it, the log phase (access logs) and scripts (gw.ai,
// gw.ctx). A script step before ai-proxy may set ValueModel to change
// the model the request asks for.
const (
	// ValueModel is the model name the client asked for (string), or the
	// one a script set before ai-proxy ran.
	ValueModel = "ai.model"
	// ValueProvider is the name of the provider that answered (string).
	ValueProvider = "ai.provider"
	// ValueProviderModel is the model name sent to the provider (string).
	ValueProviderModel = "ai.provider_model"
	// ValuePromptTokens, ValueCompletionTokens, ValueTotalTokens and
	// ValueCachedTokens are the answer's usage (int64), in OpenAI's
	// terms: prompt tokens include cached ones.
	ValuePromptTokens     = "ai.prompt_tokens"
	ValueCompletionTokens = "ai.completion_tokens"
	ValueTotalTokens      = "ai.total_tokens"
	ValueCachedTokens     = "ai.cached_tokens"
	// ValueCost is the estimated cost in USD (float64), from prices.
	ValueCost = "ai.cost"
	// ValueCache is the prompt cache's verdict: "HIT", "MISS" or
	// "BYPASS" (string), when the cache is on.
	ValueCache = "ai.cache"
	// ValueStream is whether the answer is streamed (bool).
	ValueStream = "ai.stream"
	// ValueAttempts is how many provider calls the request took (int64).
	ValueAttempts = "ai.attempts"
	// ValueAPI is the API the client speaks: "openai" or "anthropic".
	ValueAPI = "ai.api"
)

// UsageKey is what token counters are kept by. Every part comes from the
// configuration (Model is the models table's entry, a pattern for an
// entry such as "claude-*"), so the number of counters is bounded.
type UsageKey struct {
	Route    string `json:"route"`
	Consumer string `json:"consumer"`
	Model    string `json:"model"`
	Provider string `json:"provider"`
}

// UsageTotals are the counters of one UsageKey since the process started.
type UsageTotals struct {
	Requests         uint64  `json:"requests"`
	Errors           uint64  `json:"errors"`
	CacheHits        uint64  `json:"cache_hits"`
	PromptTokens     uint64  `json:"prompt_tokens"`
	CompletionTokens uint64  `json:"completion_tokens"`
	TotalTokens      uint64  `json:"total_tokens"`
	CachedTokens     uint64  `json:"cached_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

type usageCounter struct {
	requests, errors, cacheHits       atomic.Uint64
	prompt, completion, total, cached atomic.Uint64
	costNano                          atomic.Uint64 // nano-USD
}

// usageTable holds the counters of every ai-proxy step of the process;
// it outlives reloads, so counters only grow (as metrics expect).
var usageTable = struct {
	mu sync.RWMutex
	m  map[UsageKey]*usageCounter
}{m: map[UsageKey]*usageCounter{}}

// counter returns the counter of k, made on first use.
func counter(k UsageKey) *usageCounter {
	usageTable.mu.RLock()
	c := usageTable.m[k]
	usageTable.mu.RUnlock()
	if c != nil {
		return c
	}
	usageTable.mu.Lock()
	defer usageTable.mu.Unlock()
	if c = usageTable.m[k]; c == nil {
		c = &usageCounter{}
		usageTable.m[k] = c
	}
	return c
}

// VisitUsage calls f with the token counters of every route, consumer,
// model and provider seen so far, sorted by key: the seam through which
// metrics export them (issue 13). It is safe for concurrent use.
func VisitUsage(f func(UsageKey, UsageTotals)) {
	usageTable.mu.RLock()
	keys := make([]UsageKey, 0, len(usageTable.m))
	for k := range usageTable.m {
		keys = append(keys, k)
	}
	usageTable.mu.RUnlock()
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Route != b.Route {
			return a.Route < b.Route
		}
		if a.Consumer != b.Consumer {
			return a.Consumer < b.Consumer
		}
		if a.Model != b.Model {
			return a.Model < b.Model
		}
		return a.Provider < b.Provider
	})
	for _, k := range keys {
		f(k, counter(k).totals())
	}
}

func (c *usageCounter) totals() UsageTotals {
	return UsageTotals{
		Requests: c.requests.Load(), Errors: c.errors.Load(), CacheHits: c.cacheHits.Load(),
		PromptTokens: c.prompt.Load(), CompletionTokens: c.completion.Load(), TotalTokens: c.total.Load(),
		CachedTokens: c.cached.Load(), CostUSD: float64(c.costNano.Load()) / 1e9,
	}
}

// add counts one answered request with usage t and cost (nano-USD).
func (c *usageCounter) add(t usage.Tokens, costNano uint64) {
	c.requests.Add(1)
	c.prompt.Add(nonNeg(t.Prompt))
	c.completion.Add(nonNeg(t.Completion))
	c.total.Add(nonNeg(t.Total))
	c.cached.Add(nonNeg(t.CachedPrompt))
	c.costNano.Add(costNano)
}

func nonNeg(n int64) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// price is a Price in nano-USD per token.
type price struct {
	input, output, cachedInput float64
}

func newPrices(cfg map[string]Price) map[string]price {
	out := make(map[string]price, len(cfg))
	for m, p := range cfg {
		cached := p.CachedInput
		if cached == 0 {
			cached = p.Input
		}
		// USD per million tokens = 1000 nano-USD per token.
		out[m] = price{input: p.Input * 1000, output: p.Output * 1000, cachedInput: cached * 1000}
	}
	return out
}

// costOf returns the cost of usage t at price pr, in nano-USD.
func costOf(pr price, t usage.Tokens) uint64 {
	cached := float64(max(0, t.CachedPrompt))
	fresh := float64(max(0, t.Prompt-t.CachedPrompt))
	c := fresh*pr.input + cached*pr.cachedInput + float64(max(0, t.Completion))*pr.output
	if c <= 0 || math.IsNaN(c) {
		return 0
	}
	if c >= math.MaxUint64/2 {
		return math.MaxUint64 / 2
	}
	return uint64(math.Round(c))
}
