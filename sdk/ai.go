package sdk

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/moongate/moongate/core/plugin"
	lua "github.com/yuin/gopher-lua"
)

// The per-request values the ai-proxy step reads and sets
// (plugins/aiproxy: ValueModel, ValuePromptTokens, ...). The SDK knows
// them by name only: it does not import plugins.
const (
	aiModel            = "ai.model"
	aiProvider         = "ai.provider"
	aiProviderModel    = "ai.provider_model"
	aiPromptTokens     = "ai.prompt_tokens"
	aiCompletionTokens = "ai.completion_tokens"
	aiTotalTokens      = "ai.total_tokens"
	aiCachedTokens     = "ai.cached_tokens"
	aiCost             = "ai.cost"
	aiCache            = "ai.cache"
)

func init() {
	addNamespace(&Namespace{Name: "ai", Doc: "The AI request of a route served by the ai-proxy step (docs/ai-gateway.md): " +
		"its model, its prompt, and the usage of its answer. A script step placed before ai-proxy can route by model " +
		"or prompt, and refuse prompts (guardrails); its on_log sees the usage. " +
		"The functions read the request body (OpenAI's chat completions or Anthropic's messages) and the per-request " +
		"values ai-proxy sets (ai.model, ai.provider, ai.prompt_tokens, ...; also readable with gw.ctx.get)."},
		&Binding{Name: "get_model", Phases: All, Doc: "Returns the model the request asks for: the one a script set with " +
			"set_model, else the body's \"model\"; nil when there is none (or the body is gone, in the log phase of a " +
			"request ai-proxy did not serve).",
			Returns: []Param{{"model", "string?", `e.g. "gpt-4o"`}},
			Example: `if gw.ai.get_model() == "gpt-4o" then gw.ctx.set("premium", true) end`,
			Fn: func(s *State, L *lua.LState) int {
				if m, ok := s.C.Value(aiModel).(string); ok && m != "" {
					L.Push(lua.LString(m))
					return 1
				}
				var req struct {
					Model string `json:"model"`
				}
				if body, streamed := s.C.RequestBody(); !streamed && s.C.Phase() != plugin.PhaseLog && json.Unmarshal(body, &req) == nil && req.Model != "" {
					L.Push(lua.LString(req.Model))
					return 1
				}
				L.Push(lua.LNil)
				return 1
			}},
		&Binding{Name: "set_model", Phases: Request, Doc: "Makes ai-proxy serve the request with another model of its " +
			"models table (a name, an alias or a name a pattern matches), as if the client had asked for it. " +
			"The answer shows the client the model it asked for when it is translated, the provider's otherwise.",
			Params:  []Param{{"model", "string", "a model name of the route's models table"}},
			Example: `gw.ai.set_model("gpt-4o-mini")`,
			Fn: func(s *State, L *lua.LState) int {
				m := L.CheckString(1)
				if m == "" || strings.ContainsAny(m, "\x00\r\n") {
					L.ArgError(1, "a model name is needed")
				}
				s.C.SetValue(aiModel, m)
				return 0
			}},
		&Binding{Name: "get_messages", Phases: Request | Response, Doc: "Returns the prompt's messages in order, " +
			"each as { role, content }: the system prompt first (role \"system\", from Anthropic's system or " +
			"OpenAI's system and developer messages), content as the text of the message (text parts joined with " +
			"a line break; images, tool calls and tool results left out). nil and a message when the body is not " +
			"an AI request or is larger than server.buffer_body_size.",
			Returns: []Param{{"messages", "{role: string, content: string}[]?", "the messages"},
				{"err", "string?", "why there are none"}},
			Example: `for _, m in ipairs(gw.ai.get_messages() or {}) do
  if m.content:lower():find("password", 1, true) then
    return gw.response.exit(400, { error = { message = "prompt refused", type = "invalid_request_error" } })
  end
end`,
			Fn: func(s *State, L *lua.LState) int {
				body, streamed := s.C.RequestBody()
				if streamed {
					L.Push(lua.LNil)
					L.Push(lua.LString("the body is larger than server.buffer_body_size"))
					return 2
				}
				s.opts.Budget.Charge(L, jsonCost(string(body)))
				msgs, err := promptMessages(body)
				if err != "" {
					L.Push(lua.LNil)
					L.Push(lua.LString(err))
					return 2
				}
				t := L.CreateTable(len(msgs), 0)
				for _, m := range msgs {
					s.opts.Budget.Charge(L, TableCost+2*EntryCost+len(m[1]))
					e := L.CreateTable(0, 2)
					e.RawSetString("role", lua.LString(m[0]))
					e.RawSetString("content", lua.LString(m[1]))
					t.Append(e)
				}
				L.SetMetatable(t, s.arrayMeta)
				L.Push(t)
				return 1
			}},
		&Binding{Name: "get_usage", Phases: Response | Log, Doc: "Returns the usage of the answer ai-proxy gave: tokens " +
			"in OpenAI's terms (prompt tokens include cached ones), the estimated cost in USD (0 without a price), " +
			"the provider and the models. nil before the answer, for an error, a cache hit, or a stream in the response " +
			"phase (its usage is known when it ends: read it in on_log).",
			Returns: []Param{{"usage", "{prompt_tokens: integer, completion_tokens: integer, total_tokens: integer, " +
				"cached_tokens: integer, cost: number, model: string, provider: string, provider_model: string, cache: string?}?",
				"the usage; cache is \"HIT\", \"MISS\" or \"BYPASS\" when the prompt cache is on"}},
			Example: `function M.on_log(conf)
  local u = gw.ai.get_usage()
  if u then gw.log.info("tokens:", u.model, u.total_tokens) end
end`,
			Fn: func(s *State, L *lua.LState) int {
				total, ok := s.C.Value(aiTotalTokens).(int64)
				if !ok {
					L.Push(lua.LNil)
					return 1
				}
				s.opts.Budget.Charge(L, TableCost+9*EntryCost)
				t := L.CreateTable(0, 9)
				for _, k := range []string{aiPromptTokens, aiCompletionTokens, aiCachedTokens} {
					n, _ := s.C.Value(k).(int64)
					t.RawSetString(k[len("ai."):], lua.LNumber(n))
				}
				t.RawSetString("total_tokens", lua.LNumber(total))
				cost, _ := s.C.Value(aiCost).(float64)
				t.RawSetString("cost", lua.LNumber(cost))
				for _, k := range []string{aiModel, aiProvider, aiProviderModel, aiCache} {
					if v, ok := s.C.Value(k).(string); ok {
						t.RawSetString(k[len("ai."):], lua.LString(v))
					}
				}
				L.Push(t)
				return 1
			}},
	)
}

// promptMessages reads the messages of an OpenAI chat request or an
// Anthropic messages request as (role, text) pairs, the system prompt
// first; err says why there are none.
func promptMessages(body []byte) (out [][2]string, err string) {
	var req struct {
		System   json.RawMessage `json:"system"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil || req.Messages == nil {
		return nil, "the body is not an AI chat request (no messages)"
	}
	if len(req.System) > 0 && !bytes.Equal(req.System, []byte("null")) {
		out = append(out, [2]string{"system", contentText(req.System)})
	}
	for _, m := range req.Messages {
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		out = append(out, [2]string{role, contentText(m.Content)})
	}
	// OpenAI's system messages may come anywhere: the system prompt first.
	sys := 0
	for i, m := range out {
		if m[0] == "system" {
			copy(out[sys+1:i+1], out[sys:i])
			out[sys] = m
			sys++
		}
	}
	return out, ""
}

// contentText returns the text of a content: a string, or the text of
// its text blocks or parts, joined with a line break.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var texts []string
	for _, p := range parts {
		if p.Type == "text" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}
