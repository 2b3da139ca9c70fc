package translate

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/moongate/moongate/plugins/aiproxy/anthropic"
	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
	"github.com/moongate/moongate/plugins/aiproxy/openai"
	"github.com/moongate/moongate/plugins/aiproxy/usage"
)

// ResponseOptions tune a response translation (and a stream's).
type ResponseOptions struct {
	// Model is the model name to show the client; "" shows the
	// provider's. A gateway that maps aliases shows the name the client
	// asked for.
	Model string
	// Created is the "created" time of OpenAI answers, in Unix seconds;
	// 0 means now.
	Created int64
}

func (o ResponseOptions) created() int64 {
	if o.Created != 0 {
		return o.Created
	}
	return time.Now().Unix()
}

// FinishReason maps an Anthropic stop_reason to an OpenAI finish_reason:
// end_turn, stop_sequence and pause_turn → stop; max_tokens and
// model_context_window_exceeded → length; tool_use → tool_calls;
// refusal → content_filter. Anything else is stop.
func FinishReason(stopReason string) string {
	switch stopReason {
	case anthropic.StopMaxTokens, anthropic.StopContextExceeded:
		return openai.FinishLength
	case anthropic.StopToolUse:
		return openai.FinishToolCalls
	case anthropic.StopRefusal:
		return openai.FinishContentFilter
	}
	return openai.FinishStop
}

// StopReason maps an OpenAI finish_reason to an Anthropic stop_reason:
// stop → end_turn (OpenAI does not say whether a stop sequence matched),
// length → max_tokens, tool_calls and function_call → tool_use,
// content_filter → refusal. Anything else is end_turn.
func StopReason(finishReason string) string {
	switch finishReason {
	case openai.FinishLength:
		return anthropic.StopMaxTokens
	case openai.FinishToolCalls, openai.FinishFunctionCall:
		return anthropic.StopToolUse
	case openai.FinishContentFilter:
		return anthropic.StopRefusal
	}
	return anthropic.StopEndTurn
}

// OpenAIUsage returns t in OpenAI's shape.
func OpenAIUsage(t usage.Tokens) *openai.Usage {
	u := &openai.Usage{PromptTokens: t.Prompt, CompletionTokens: t.Completion, TotalTokens: t.Total,
		PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: t.CachedPrompt, CacheWriteTokens: t.CacheWrite}}
	return u
}

// AnthropicUsage returns t in Anthropic's shape (input_tokens without the
// cached prompt tokens).
func AnthropicUsage(t usage.Tokens) anthropic.Usage {
	a := usage.AnthropicOf(t)
	return anthropic.Usage{InputTokens: a.Input, OutputTokens: a.Output,
		CacheReadInputTokens: a.CacheRead, CacheCreationInputTokens: a.CacheWrite}
}

// ResponseToOpenAI translates an Anthropic messages answer into an OpenAI
// chat completion: text blocks are joined into the content, tool_use
// blocks become tool calls, thinking blocks are dropped.
func ResponseToOpenAI(resp *anthropic.Response, opt ResponseOptions) (*openai.ChatResponse, error) {
	msg := openai.ResponseMessage{Role: openai.RoleAssistant}
	var text strings.Builder
	hasText := false
	for i, b := range resp.Content {
		switch b.Type {
		case anthropic.BlockText:
			text.WriteString(b.Text)
			hasText = true
		case anthropic.BlockToolUse:
			args := "{}"
			if len(b.Input) > 0 {
				v, err := rawjson.Trim(b.Input)
				if err != nil {
					return nil, badGateway("content[%d].input is not valid JSON", i)
				}
				args = string(rawjson.AppendCompact(nil, v))
			}
			msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: b.ID, Type: "function",
				Function: openai.FunctionCall{Name: b.Name, Arguments: args}})
		}
	}
	if hasText || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	stop := ""
	if resp.StopReason != nil {
		stop = *resp.StopReason
	}
	a := usage.Anthropic{Input: resp.Usage.InputTokens, Output: resp.Usage.OutputTokens,
		CacheRead: resp.Usage.CacheReadInputTokens, CacheWrite: resp.Usage.CacheCreationInputTokens}
	out := &openai.ChatResponse{
		ID: resp.ID, Object: openai.ObjectChatCompletion, Created: opt.created(), Model: resp.Model,
		Choices: []openai.Choice{{Index: 0, Message: msg, FinishReason: FinishReason(stop)}},
		Usage:   OpenAIUsage(a.Tokens()),
	}
	if opt.Model != "" {
		out.Model = opt.Model
	}
	return out, nil
}

// ResponseToAnthropic translates an OpenAI chat completion into an
// Anthropic messages answer, from its first choice: the content (or the
// refusal) becomes a text block, tool calls become tool_use blocks.
func ResponseToAnthropic(resp *openai.ChatResponse, opt ResponseOptions) (*anthropic.Response, error) {
	if len(resp.Choices) == 0 {
		return nil, badGateway("the provider's answer has no choices")
	}
	ch := resp.Choices[0]
	out := &anthropic.Response{ID: resp.ID, Type: "message", Role: anthropic.RoleAssistant, Model: resp.Model,
		Content: []anthropic.Block{}}
	if opt.Model != "" {
		out.Model = opt.Model
	}
	stop := StopReason(ch.FinishReason)
	if c := ch.Message.Content; c != nil && *c != "" {
		out.Content = append(out.Content, anthropic.Block{Type: anthropic.BlockText, Text: *c})
	} else if r := ch.Message.Refusal; r != nil && *r != "" {
		out.Content = append(out.Content, anthropic.Block{Type: anthropic.BlockText, Text: *r})
		stop = anthropic.StopRefusal
	}
	for i, tc := range ch.Message.ToolCalls {
		input, err := argumentsObject(tc.Function.Arguments)
		if err != nil {
			return nil, badGateway("choices[0].message.tool_calls[%d].function.arguments is not a JSON object", i)
		}
		out.Content = append(out.Content, anthropic.Block{Type: anthropic.BlockToolUse, ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	out.StopReason = &stop
	if resp.Usage != nil {
		t := usage.Tokens{Prompt: resp.Usage.PromptTokens, Completion: resp.Usage.CompletionTokens, Total: resp.Usage.TotalTokens}
		if d := resp.Usage.PromptTokensDetails; d != nil {
			t.CachedPrompt, t.CacheWrite = d.CachedTokens, d.CacheWriteTokens
		}
		out.Usage = AnthropicUsage(t)
	}
	return out, nil
}

// ResponseBodyToOpenAI decodes an Anthropic JSON answer and translates it;
// the result is the JSON body for the OpenAI client.
func ResponseBodyToOpenAI(body []byte, opt ResponseOptions) ([]byte, error) {
	var resp anthropic.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, badGateway("the provider's answer is not a valid messages response")
	}
	out, err := ResponseToOpenAI(&resp, opt)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// ResponseBodyToAnthropic decodes an OpenAI JSON answer and translates it;
// the result is the JSON body for the Anthropic client.
func ResponseBodyToAnthropic(body []byte, opt ResponseOptions) ([]byte, error) {
	var resp openai.ChatResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, badGateway("the provider's answer is not a valid chat completion")
	}
	out, err := ResponseToAnthropic(&resp, opt)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// RequestBodyToAnthropic decodes an OpenAI request body and translates
// it. It returns the Anthropic body and the decoded client request (the
// caller needs stream and stream_options from it). Errors are *Error with
// status 400.
func RequestBodyToAnthropic(body []byte, opt RequestOptions) ([]byte, *openai.ChatRequest, error) {
	req, err := openai.ParseChatRequest(body)
	if err != nil {
		return nil, nil, badRequest("%s", err.Error())
	}
	out, err := RequestToAnthropic(req, opt)
	if err != nil {
		return nil, req, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, req, badRequest("%s", err.Error())
	}
	return b, req, nil
}

// RequestBodyToOpenAI decodes an Anthropic request body and translates it.
func RequestBodyToOpenAI(body []byte, opt RequestOptions) ([]byte, *anthropic.Request, error) {
	req, err := anthropic.ParseRequest(body)
	if err != nil {
		return nil, nil, badRequest("%s", err.Error())
	}
	out, err := RequestToOpenAI(req, opt)
	if err != nil {
		return nil, req, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, req, badRequest("%s", err.Error())
	}
	return b, req, nil
}
