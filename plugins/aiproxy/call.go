package aiproxy

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/moongate/moongate/core/httpbytes"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/ratelimit"
	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
	"github.com/moongate/moongate/plugins/aiproxy/sse"
	"github.com/moongate/moongate/plugins/aiproxy/translate"
	"github.com/moongate/moongate/plugins/aiproxy/usage"
	"github.com/valyala/fasthttp"
)

// call is one request to ai-proxy, from its arrival to the end of its
// answer: for a stream, it is the response's body stream and lives until
// fasthttp has written it (Close). Calls are pooled.
type call struct {
	p *Plugin
	// c is the request's context; nil once the answer streams after the
	// step returned, unless the log phase waits for the stream (logHeld).
	c       *plugin.Context
	logHeld bool

	ep     endpoint
	client apiKind
	stream bool
	body   []byte

	model    string // the model the client asked for (or a script set)
	entry    *modelEntry
	route    string
	consumer string

	// The target and key of the current (last) attempt.
	tg        target
	key       *poolKey
	provModel string
	attempts  int
	plan      []target
	provBody  []byte

	// The provider request and answer; they keep their buffers from
	// call to call.
	req  *fasthttp.Request
	resp *fasthttp.Response
	pc   *provConn

	// Streaming.
	rd         *sse.Reader
	first      *sse.Event // read before the answer was committed
	mode       streamMode
	toOpenAI   *translate.StreamToOpenAI
	toAnth     *translate.StreamToAnthropic
	meter      usage.Stream
	dropUsage  bool // the client did not ask for the usage chunk the gateway asked for
	complete   bool // the provider's answer ended properly
	finished   bool // nothing more to write
	clientGone bool
	closed     bool
	out        []byte
	pending    []byte

	// Failures of the attempts so far, for the final answer.
	lastStatus int
	lastErr    translate.ProviderError
	lastFail   failKind
	retryAfter time.Duration

	cacheKey []byte
	caching  bool
	cacheBuf []byte

	limitKey []byte
	rl       ratelimit.Result

	bodyBuf []byte
}

type streamMode uint8

const (
	modePassOpenAI streamMode = iota + 1
	modePassAnthropic
	modeToOpenAI    // Anthropic provider, OpenAI client
	modeToAnthropic // OpenAI provider, Anthropic client
)

// failKind is why an attempt failed without a provider answer.
type failKind uint8

const (
	failNone failKind = iota
	failConnect
	failTimeout
	failBadAnswer
	failNoKey
)

var callPool = sync.Pool{New: func() any {
	return &call{
		rd:       sse.NewReader(nil, 0),
		toOpenAI: translate.NewStreamToOpenAI(translate.ResponseOptions{}, false),
		toAnth:   translate.NewStreamToAnthropic(translate.ResponseOptions{}),
		req:      &fasthttp.Request{},
		resp:     &fasthttp.Response{},
	}
}}

func acquireCall(p *Plugin, c *plugin.Context, ep endpoint, kind apiKind) *call {
	cl := callPool.Get().(*call)
	cl.p, cl.c, cl.ep, cl.client = p, c, ep, kind
	cl.route = c.RouteName()
	if cs := c.Consumer; cs != nil {
		cl.consumer = cs.Name
	}
	return cl
}

func releaseCall(cl *call) {
	if cl.pc != nil {
		cl.pc.streaming.Store(false)
	}
	cl.req.Reset()
	cl.resp.Reset()
	cl.rd.Reset(nil, 0)
	cl.meter.Reset()
	*cl = call{
		rd: cl.rd, toOpenAI: cl.toOpenAI, toAnth: cl.toAnth, req: cl.req, resp: cl.resp,
		plan: cl.plan[:0], out: cl.out[:0], cacheBuf: cl.cacheBuf[:0], limitKey: cl.limitKey[:0],
		bodyBuf: cl.bodyBuf[:0], rl: ratelimit.Result{Windows: cl.rl.Windows[:0]},
	}
	callPool.Put(cl)
}

// start reads and checks the request: body, model, limits, cache. It
// reports false when it answered (an error, or a cached answer).
func (cl *call) start() bool {
	c, p := cl.c, cl.p
	body, status := cl.readBody()
	if status != 0 {
		msg := "request body too large"
		if status == 400 {
			msg = "could not read the request body"
		}
		respondError(c, cl.client, status, msg, 0)
		return false
	}
	if v, err := rawjson.Trim(body); err != nil || v[0] != '{' {
		respondError(c, cl.client, 400, "the request body must be a JSON object", 0)
		return false
	}
	cl.body = body
	cl.model = translate.Model(body)
	if v, ok := c.Value(ValueModel).(string); ok && v != "" {
		cl.model = v // set by a script before this step
	}
	if cl.model == "" {
		respondError(c, cl.client, 400, "model: a model name is required", 0)
		return false
	}
	cl.entry = p.models.lookup(cl.model)
	if cl.entry == nil {
		respondError(c, cl.client, 404, "model "+quote(cl.model)+" is not served on this route", 0)
		return false
	}
	if cl.ep != epEmbeddings {
		cl.stream = translate.Streaming(body)
	}
	c.SetValue(ValueModel, cl.model)
	c.SetValue(ValueStream, cl.stream)

	if pc := p.cache; pc != nil && cl.ep != epEmbeddings {
		key := pc.key(cl.route, cl.client, c, body)
		switch {
		case key == nil:
			pc.bypass.Add(1)
			c.SetValue(ValueCache, "BYPASS")
			c.DeferResponseHeader(plugin.HeaderSet, "X-AI-Cache", "BYPASS")
		default:
			if kind, answer, ok := pc.get(key); ok {
				pc.hits.Add(1)
				cl.replay(kind, answer)
				return false
			}
			pc.misses.Add(1)
			c.SetValue(ValueCache, "MISS")
			c.DeferResponseHeader(plugin.HeaderSet, "X-AI-Cache", "MISS")
			cl.cacheKey, cl.caching = key, true
		}
	}
	if lim := p.limits; lim != nil {
		cl.limitKey = lim.appendKey(cl.limitKey[:0], c)
		if !lim.check(cl.limitKey, &cl.rl) {
			respondError(c, cl.client, 429, "token limit exceeded: retry in "+strconv.FormatInt(cl.rl.RetryAfterSeconds(), 10)+"s",
				cl.rl.RetryAfterSeconds())
			counter(UsageKey{Route: cl.route, Consumer: cl.consumer, Model: cl.entry.name}).errors.Add(1)
			return false
		}
	}
	return true
}

// replay answers with a cached answer.
func (cl *call) replay(kind byte, answer []byte) {
	c := cl.c
	ct := "application/json"
	if kind == cachedStream {
		ct = "text/event-stream"
	}
	c.Respond(200, ct, answer)
	if kind == cachedStream {
		c.Response.Header.Set("Cache-Control", "no-cache")
	}
	c.Response.Header.Set("X-AI-Cache", "HIT")
	c.SetValue(ValueCache, "HIT")
	counter(UsageKey{Route: cl.route, Consumer: cl.consumer, Model: cl.entry.name}).cacheHits.Add(1)
}

// outcome is what an attempt came to.
type outcome uint8

const (
	outDone     outcome = iota + 1 // answered (the answer, or an error for the client)
	outOtherKey                    // the key was refused or rate limited: another key
	outNext                        // the target failed: the next target
)

// run tries the targets until one answers. It reports whether the answer
// streams (the call then lives on as the response's body stream).
func (cl *call) run() bool {
	p := cl.p
	cl.plan = cl.entry.plan(cl.plan[:0])
	embeddingTargets := 0
	for _, tg := range cl.plan {
		if cl.attempts >= p.maxAttempts {
			break
		}
		if cl.ep == epEmbeddings && tg.p.kind != kindOpenAI {
			continue // Anthropic has no embeddings
		}
		embeddingTargets++
		model := tg.model
		if model == "" {
			model = cl.model
		}
		if err := cl.prepare(tg, model); err != nil {
			cl.badRequest(err)
			return false
		}
		var tried uint64
	keys:
		for cl.attempts < p.maxAttempts {
			key, wait, ok := tg.p.keys.pick(tried, time.Now())
			if !ok {
				if cl.lastStatus == 0 && cl.lastFail == failNone {
					cl.lastFail, cl.retryAfter = failNoKey, wait
				}
				break
			}
			if key != nil && key.index < 64 {
				tried |= 1 << key.index
			}
			cl.attempts++
			switch cl.send(tg, key, model) {
			case outDone:
				return cl.finishSetup()
			case outOtherKey:
				if key == nil {
					break keys
				}
			case outNext:
				break keys
			}
		}
	}
	if cl.ep == epEmbeddings && embeddingTargets == 0 {
		respondError(cl.c, cl.client, 400, "model "+quote(cl.model)+" does not support embeddings", 0)
		return false
	}
	cl.failed()
	return false
}

// finishSetup completes a successful attempt: for a stream, the call now
// belongs to the response.
func (cl *call) finishSetup() bool {
	c := cl.c
	c.SetValue(ValueProvider, cl.tg.p.name)
	c.SetValue(ValueProviderModel, cl.provModel)
	c.SetValue(ValueAttempts, int64(cl.attempts))
	return cl.mode != 0
}

// prepare builds the provider's request body for tg.
func (cl *call) prepare(tg target, model string) error {
	var err error
	body := cl.body
	switch {
	case tg.p.kind == kindOpenAI && cl.client == kindOpenAI:
		cl.provBody, err = translate.SetModel(body, model)
		if err == nil && cl.stream {
			var asked bool
			cl.provBody, asked, err = translate.ForceIncludeUsage(cl.provBody)
			cl.dropUsage = !asked
		}
	case tg.p.kind == kindAnthropic && cl.client == kindAnthropic:
		cl.provBody, err = translate.SetModel(body, model)
	case tg.p.kind == kindAnthropic:
		r, oreq, e := translate.RequestBodyToAnthropic(body, translate.RequestOptions{Model: model, DefaultMaxTokens: cl.p.defaultMaxTokens})
		cl.provBody, err = r, e
		if oreq != nil {
			cl.dropUsage = !oreq.IncludeUsage()
		}
	default:
		cl.provBody, _, err = translate.RequestBodyToOpenAI(body, translate.RequestOptions{Model: model, MaxCompletionTokens: tg.p.maxCompletionTokens})
	}
	return err
}

// send makes one attempt: tg with key k.
func (cl *call) send(tg target, k *poolKey, model string) outcome {
	p := tg.p
	cl.tg, cl.key, cl.provModel = tg, k, model
	req, resp := cl.req, cl.resp
	req.Reset()
	resp.Reset()
	req.Header.SetMethod("POST")
	req.SetRequestURI(p.urlFor(cl.ep, model))
	req.Header.SetContentType("application/json")
	if cl.stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	p.setAuth(req, k)
	if p.kind == kindAnthropic {
		version := []byte(p.anthropicVersion)
		if cl.client == kindAnthropic {
			if v := cl.c.Request.Header.Peek("anthropic-version"); len(v) > 0 {
				version = v
			}
			if v := cl.c.Request.Header.Peek("anthropic-beta"); len(v) > 0 {
				req.Header.SetBytesV("anthropic-beta", v)
			}
		}
		req.Header.SetBytesV("anthropic-version", version)
	}
	for _, h := range p.headers {
		req.Header.Set(h[0], h[1])
	}
	req.SetBodyRaw(cl.provBody)
	resp.StreamBody = cl.stream
	if k != nil {
		k.requests.Add(1)
	}
	err := p.client.DoTimeout(req, resp, p.firstByte)
	if err != nil {
		cl.attemptFailed(k, classify(err), 0, err)
		return outNext
	}
	status := resp.StatusCode()
	if status >= 200 && status < 300 {
		return cl.answer()
	}
	errBody := cl.readErrorBody()
	var pe translate.ProviderError
	if p.kind == kindAnthropic {
		pe = translate.ParseAnthropicError(status, errBody)
	} else {
		pe = translate.ParseOpenAIError(status, errBody)
	}
	now := time.Now()
	switch {
	case status == 429:
		rest := resetAfter(&resp.Header, now)
		if rest <= 0 {
			rest = defaultRest
		}
		cl.retryAfter = rest
		cl.lastStatus, cl.lastErr, cl.lastFail = status, pe, failNone
		if k != nil {
			k.rest(rest, now)
		}
		cl.logAttempt(k, status, "rate limited: the key rests", slog.Duration("rest", rest))
		return outOtherKey
	case status == 401 || status == 403:
		cl.lastStatus, cl.lastErr, cl.lastFail = status, pe, failNone
		if k != nil {
			k.failures.Add(1)
			if k.disable(status, now) {
				p.keys.warnDisabled(cl, k, status, pe.Message)
			}
			return outOtherKey
		}
		cl.logAttempt(k, status, "refused the gateway's credentials")
		return outNext
	case status >= 500 || status == 408:
		if k != nil {
			k.failures.Add(1)
		}
		cl.lastStatus, cl.lastErr, cl.lastFail = status, pe, failNone
		cl.logAttempt(k, status, "failed: trying the next target")
		return outNext
	}
	// Any other error is about the request: the client gets it.
	var st int
	var b []byte
	if cl.client == kindAnthropic {
		st, b = pe.Anthropic()
	} else {
		st, b = pe.OpenAI()
	}
	cl.c.Respond(st, "application/json", b)
	cl.countError()
	cl.resp.Reset()
	return outDone
}

// attemptFailed notes an attempt that got no answer.
func (cl *call) attemptFailed(k *poolKey, f failKind, status int, err error) {
	if k != nil {
		k.failures.Add(1)
	}
	cl.lastFail, cl.lastStatus = f, status
	msg := "could not be reached"
	if f == failTimeout {
		msg = "timed out"
	} else if f == failBadAnswer {
		msg = "answered something that is not the API's"
	}
	attrs := []slog.Attr{}
	if err != nil {
		attrs = append(attrs, slog.String("error", translate.Redact(err.Error())))
	}
	cl.logAttempt(k, status, msg, attrs...)
}

func (cl *call) logAttempt(k *poolKey, status int, msg string, extra ...slog.Attr) {
	attrs := []slog.Attr{slog.String("provider", cl.tg.p.name), slog.String("model", cl.provModel),
		slog.Int("attempt", cl.attempts)}
	if k != nil {
		attrs = append(attrs, slog.String("key", k.name()))
	}
	if status != 0 {
		attrs = append(attrs, slog.Int("status", status))
	}
	cl.c.LogAttrs(slog.LevelWarn, "ai-proxy: provider "+msg, append(attrs, extra...)...)
}

// warnDisabled logs a key the provider refused, once.
func (kp *keyPool) warnDisabled(cl *call, k *poolKey, status int, message string) {
	cl.c.LogAttrs(slog.LevelWarn, "ai-proxy: provider key disabled until the next reload",
		slog.String("provider", kp.provider), slog.String("key", k.name()), slog.Int("status", status),
		slog.String("message", message))
}

// classify tells a timeout from a connection failure.
func classify(err error) failKind {
	var ne net.Error
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) ||
		errors.Is(err, fasthttp.ErrNoFreeConns) || errors.As(err, &ne) && ne.Timeout() {
		return failTimeout
	}
	return failConnect
}

// readErrorBody reads a provider's error answer (64 KB at most) and
// releases the provider's response stream.
func (cl *call) readErrorBody() []byte {
	resp := cl.resp
	if !resp.IsBodyStream() {
		return resp.Body()
	}
	// A read error keeps what came before it.
	buf, _ := appendReadAll(cl.out[:0], io.LimitReader(resp.BodyStream(), 64<<10))
	cl.out = buf
	_ = resp.CloseBodyStream()
	return buf
}

// answer handles a provider's 2xx answer.
func (cl *call) answer() outcome {
	if cl.stream {
		return cl.startStream()
	}
	c, tg := cl.c, cl.tg
	body := cl.resp.Body()
	var t usage.Tokens
	var have bool
	if tg.p.kind == kindAnthropic {
		t, have = usage.FromAnthropic(body)
	} else {
		t, have = usage.FromOpenAI(body)
	}
	out := body
	var err error
	switch {
	case tg.p.kind == kindAnthropic && cl.client == kindOpenAI:
		out, err = translate.ResponseBodyToOpenAI(body, translate.ResponseOptions{Model: cl.model})
	case tg.p.kind == kindOpenAI && cl.client == kindAnthropic:
		out, err = translate.ResponseBodyToAnthropic(body, translate.ResponseOptions{Model: cl.model})
	}
	if err != nil {
		cl.attemptFailed(cl.key, failBadAnswer, 0, err)
		return outNext
	}
	c.Respond(200, "application/json", out)
	if cl.caching {
		cl.p.cache.put(cl.cacheKey, cachedJSON, out)
	}
	cl.resp.Reset()
	cl.account(t, have)
	return outDone
}

// startStream reads the first event of a streamed answer, before
// anything is sent to the client: a provider that fails here (an error
// event, a cut or silent connection) is still replaced by the next
// target. Then the answer is committed: the call becomes the response's
// body stream.
func (cl *call) startStream() outcome {
	resp := cl.resp
	// Media types compare without case (RFC 9110 §8.3.1).
	if !httpbytes.HasPrefixFold(resp.Header.ContentType(), "text/event-stream") || !resp.IsBodyStream() {
		cl.readErrorBody()
		cl.attemptFailed(cl.key, failBadAnswer, resp.StatusCode(), nil)
		return outNext
	}
	cl.pc = connOf(resp)
	cl.rd.Reset(resp.BodyStream(), 0)
	// The first event must come within the first-byte timeout: the
	// deadline fasthttp set for the answer's head is still on the
	// connection. Comments before it (keep-alives) are dropped.
	for {
		ev, err := cl.rd.Next()
		if err != nil {
			_ = resp.CloseBodyStream()
			f := classify(err)
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				f = failConnect
			}
			cl.attemptFailed(cl.key, f, 0, err)
			return outNext
		}
		if ev.HasData {
			cl.first = ev
			break
		}
	}
	if cl.pc != nil {
		cl.pc.streaming.Store(true)
	}
	ev := cl.first
	if pe, ok := cl.streamError(ev); ok {
		_ = resp.CloseBodyStream()
		cl.lastStatus, cl.lastErr, cl.lastFail = pe.Status, pe, failNone
		if cl.key != nil {
			cl.key.failures.Add(1)
		}
		cl.logAttempt(cl.key, pe.Status, "failed before its first event: trying the next target")
		return outNext
	}
	opt := translate.ResponseOptions{Model: cl.model}
	switch {
	case cl.tg.p.kind == kindOpenAI && cl.client == kindOpenAI:
		cl.mode = modePassOpenAI
	case cl.tg.p.kind == kindAnthropic && cl.client == kindAnthropic:
		cl.mode = modePassAnthropic
	case cl.client == kindOpenAI:
		cl.mode = modeToOpenAI
		cl.toOpenAI.Reset(opt, !cl.dropUsage)
	default:
		cl.mode = modeToAnthropic
		cl.toAnth.Reset(opt)
	}
	c := cl.c
	c.Response.Reset()
	c.Response.SetStatusCode(200)
	c.Response.Header.SetContentType("text/event-stream")
	c.Response.Header.Set("Cache-Control", "no-cache")
	c.Response.Header.Set("X-Accel-Buffering", "no")
	c.Response.ImmediateHeaderFlush = true
	// The usage is known at the end of the stream: the log phase waits
	// for it (Close releases it).
	cl.logHeld = c.HoldLog()
	c.Response.SetBodyStream(cl, -1)
	c.Stop()
	return outDone
}

// streamError reports whether ev is the provider's error event, in terms
// both APIs can express.
func (cl *call) streamError(ev *sse.Event) (translate.ProviderError, bool) {
	if cl.tg.p.kind == kindAnthropic {
		if string(ev.Type) != "error" {
			return translate.ProviderError{}, false
		}
		return anthropicStreamError(ev.Data), true
	}
	if !hasError(ev.Data) {
		return translate.ProviderError{}, false
	}
	return translate.ParseOpenAIError(500, ev.Data), true
}

// anthropicStreamError parses the data of an Anthropic error event, both
// before the first event and mid-stream: an overloaded_error gets 529.
func anthropicStreamError(data []byte) translate.ProviderError {
	pe := translate.ParseAnthropicError(500, data)
	if pe.Class == translate.ClassOverloaded {
		pe.Status = 529
	}
	return pe
}

// failed answers a request whose attempts all failed.
func (cl *call) failed() {
	c := cl.c
	cl.countError()
	switch {
	case cl.lastStatus != 0 && cl.lastFail == failNone:
		pe := cl.lastErr
		var status int
		var msg string
		switch {
		case cl.lastStatus == 429:
			status, msg = 429, "the provider is rate limiting this model: retry later"
		case cl.lastStatus == 401 || cl.lastStatus == 403:
			status, msg = 502, "the provider refused the gateway's credentials"
		default:
			st, _ := pe.OpenAI()
			if cl.client == kindAnthropic {
				st, _ = pe.Anthropic()
			}
			status, msg = st, "the provider failed: "+pe.Message
		}
		retry := int64(0)
		if status == 429 {
			retry = int64((cl.retryAfter + time.Second - 1) / time.Second)
		}
		respondError(c, cl.client, status, msg, retry)
	case cl.lastFail == failNoKey:
		retry := int64((cl.retryAfter + time.Second - 1) / time.Second)
		if retry > 0 {
			respondError(c, cl.client, 429, "every provider key of this model is rate limited: retry later", retry)
		} else {
			respondError(c, cl.client, 503, "no provider key of this model is usable", 0)
		}
	case cl.lastFail == failTimeout:
		respondError(c, cl.client, 504, "the provider did not answer in time", 0)
	case cl.lastFail == failBadAnswer:
		respondError(c, cl.client, 502, "the provider's answer could not be read", 0)
	default:
		respondError(c, cl.client, 502, "could not reach the provider", 0)
	}
	if cl.attempts > 0 {
		c.SetValue(ValueAttempts, int64(cl.attempts))
	}
}

func (cl *call) countError() {
	prov := ""
	if cl.tg.p != nil {
		prov = cl.tg.p.name
	}
	counter(UsageKey{Route: cl.route, Consumer: cl.consumer, Model: cl.entry.name, Provider: prov}).errors.Add(1)
}

// account counts an answered request: counters, the consumer's token
// budget, and the request's values (when the context may still be used).
func (cl *call) account(t usage.Tokens, have bool) {
	p := cl.p
	var pr price
	if x, ok := p.prices[cl.provModel]; ok {
		pr = x
	}
	cost := costOf(pr, t)
	counter(UsageKey{Route: cl.route, Consumer: cl.consumer, Model: cl.entry.name, Provider: cl.tg.p.name}).add(t, cost)
	if p.limits != nil && have {
		p.limits.charge(cl.limitKey, t.Total, &cl.rl)
	}
	if c := cl.c; c != nil && have {
		c.SetValue(ValuePromptTokens, t.Prompt)
		c.SetValue(ValueCompletionTokens, t.Completion)
		c.SetValue(ValueTotalTokens, t.Total)
		c.SetValue(ValueCachedTokens, t.CachedPrompt)
		c.SetValue(ValueCost, float64(cost)/1e9)
	}
}
