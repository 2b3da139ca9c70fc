package translate

import (
	"encoding/json"
	"strings"

	"github.com/moongate/moongate/plugins/aiproxy/anthropic"
	"github.com/moongate/moongate/plugins/aiproxy/internal/rawjson"
	"github.com/moongate/moongate/plugins/aiproxy/openai"
)

// DefaultMaxTokens is the max_tokens of an Anthropic request translated
// from an OpenAI request that set neither max_tokens nor
// max_completion_tokens (Anthropic requires it; OpenAI does not).
const DefaultMaxTokens = 4096

// RequestOptions tune a request translation.
type RequestOptions struct {
	// Model is the provider's model name to send; "" keeps the client's.
	Model string
	// DefaultMaxTokens replaces DefaultMaxTokens when positive.
	DefaultMaxTokens int
	// MaxCompletionTokens makes RequestToOpenAI send the limit as
	// max_completion_tokens (what OpenAI's reasoning models require)
	// instead of max_tokens (what most OpenAI-compatible servers know).
	MaxCompletionTokens bool
}

// emptySchema is the input schema of a function tool that has no
// parameters: Anthropic requires one.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// RequestToAnthropic translates an OpenAI chat completions request into
// an Anthropic messages request. It refuses (with a 400 *Error) what
// Anthropic cannot do: n > 1, legacy function calling, audio input, files
// by ID, custom tools. What it drops is listed in docs/ai-gateway.md.
func RequestToAnthropic(req *openai.ChatRequest, opt RequestOptions) (*anthropic.Request, error) {
	if req.N != nil && *req.N > 1 {
		return nil, badRequest("n: only 1 choice is supported by this model")
	}
	if len(req.Functions) > 0 || len(req.FunctionCall) > 0 {
		return nil, badRequest("functions and function_call are not supported by this model: use tools and tool_choice")
	}
	out := &anthropic.Request{Model: req.Model, Stream: req.Stream}
	if opt.Model != "" {
		out.Model = opt.Model
	}

	var system []anthropic.Block
	systemMsgs := 0
	for i, m := range req.Messages {
		switch m.Role {
		case openai.RoleSystem, openai.RoleDeveloper:
			systemMsgs++
			blocks, err := textBlocks(m.Content, i)
			if err != nil {
				return nil, err
			}
			system = append(system, blocks...)
			continue
		case openai.RoleUser:
			blocks, err := userBlocks(m.Content, i)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, anthropic.RoleUser, m.Content.Text, blocks)
		case openai.RoleAssistant:
			blocks, err := assistantBlocks(m, i)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, anthropic.RoleAssistant, nil, blocks)
		case openai.RoleTool:
			blk, err := toolResultBlock(m, i)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, anthropic.RoleUser, nil, []anthropic.Block{blk})
		case openai.RoleFunction:
			return nil, badRequest("messages[%d].role: \"function\" messages are not supported by this model: use tools", i)
		default:
			return nil, badRequest("messages[%d].role: unknown role %q", i, m.Role)
		}
	}
	switch {
	case len(system) == 1 && systemMsgs == 1:
		out.System = anthropic.TextContent(system[0].Text)
	case len(system) > 0:
		out.System = anthropic.Content{Blocks: system}
	}

	if n, ok := req.MaxOutputTokens(); ok {
		out.MaxTokens = n
	} else if opt.DefaultMaxTokens > 0 {
		out.MaxTokens = opt.DefaultMaxTokens
	} else {
		out.MaxTokens = DefaultMaxTokens
	}
	if req.Temperature != nil {
		// OpenAI's range is 0..2, Anthropic's 0..1: clamp, so 0.7 stays
		// 0.7 and everything hotter than 1 is Anthropic's hottest.
		t := min(max(*req.Temperature, 0), 1)
		out.Temperature = &t
	}
	out.TopP = req.TopP
	if len(req.Stop) > 0 {
		out.StopSequences = append([]string(nil), req.Stop...)
	}
	if req.User != "" {
		out.Metadata = &anthropic.Metadata{UserID: req.User}
	}

	for i, t := range req.Tools {
		if t.Type != "function" || t.Function == nil {
			return nil, badRequest("tools[%d]: only function tools are supported by this model, got type %q", i, t.Type)
		}
		schema := t.Function.Parameters
		if len(schema) == 0 || string(schema) == "null" {
			schema = emptySchema
		}
		out.Tools = append(out.Tools, anthropic.Tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	if tc := req.ToolChoice; tc != nil {
		c := &anthropic.ToolChoice{}
		switch {
		case tc.Function != "":
			c.Type, c.Name = anthropic.ToolChoiceTool, tc.Function
		case tc.Mode == openai.ToolChoiceAuto:
			c.Type = anthropic.ToolChoiceAuto
		case tc.Mode == openai.ToolChoiceRequired:
			c.Type = anthropic.ToolChoiceAny
		case tc.Mode == openai.ToolChoiceNone:
			c.Type = anthropic.ToolChoiceNone
		default:
			return nil, badRequest("tool_choice: unknown value %q", tc.Mode)
		}
		out.ToolChoice = c
	}
	if p := req.ParallelToolCalls; p != nil && !*p && len(out.Tools) > 0 {
		if out.ToolChoice == nil {
			out.ToolChoice = &anthropic.ToolChoice{Type: anthropic.ToolChoiceAuto}
		}
		if out.ToolChoice.Type != anthropic.ToolChoiceNone {
			yes := true
			out.ToolChoice.DisableParallelToolUse = &yes
		}
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type == "json_schema" && rf.JSONSchema != nil && len(rf.JSONSchema.Schema) > 0 {
		out.OutputConfig = &anthropic.OutputConfig{Format: &anthropic.OutputFormat{Type: "json_schema", Schema: rf.JSONSchema.Schema}}
	}
	return out, nil
}

// appendTurn adds blocks as a turn of role, merged into the previous turn
// when it has the same role (Anthropic wants user and assistant turns to
// alternate; tool results and the user text after them share a turn).
// text, when not nil and the turn is not merged, keeps string content.
func appendTurn(msgs []anthropic.Message, role string, text *string, blocks []anthropic.Block) []anthropic.Message {
	if len(blocks) == 0 {
		return msgs // nothing Anthropic accepts: empty text is refused
	}
	if n := len(msgs); n > 0 && msgs[n-1].Role == role {
		last := &msgs[n-1]
		if last.Content.Text != nil {
			last.Content = anthropic.Content{Blocks: []anthropic.Block{{Type: anthropic.BlockText, Text: *last.Content.Text}}}
		}
		last.Content.Blocks = append(last.Content.Blocks, blocks...)
		return msgs
	}
	if text != nil {
		return append(msgs, anthropic.Message{Role: role, Content: anthropic.TextContent(*text)})
	}
	return append(msgs, anthropic.Message{Role: role, Content: anthropic.Content{Blocks: blocks}})
}

// textBlocks returns the text of system or tool content as text blocks,
// leaving out empty ones.
func textBlocks(c openai.Content, i int) ([]anthropic.Block, error) {
	if c.Text != nil {
		if *c.Text == "" {
			return nil, nil
		}
		return []anthropic.Block{{Type: anthropic.BlockText, Text: *c.Text}}, nil
	}
	var out []anthropic.Block
	for j, p := range c.Parts {
		if p.Type != openai.PartText {
			return nil, badRequest("messages[%d].content[%d]: only text is allowed here, got %q", i, j, p.Type)
		}
		if p.Text != "" {
			out = append(out, anthropic.Block{Type: anthropic.BlockText, Text: p.Text})
		}
	}
	return out, nil
}

func userBlocks(c openai.Content, i int) ([]anthropic.Block, error) {
	if c.Text != nil {
		return textBlocks(c, i)
	}
	var out []anthropic.Block
	for j, p := range c.Parts {
		switch p.Type {
		case openai.PartText:
			if p.Text != "" {
				out = append(out, anthropic.Block{Type: anthropic.BlockText, Text: p.Text})
			}
		case openai.PartImageURL:
			if p.ImageURL == nil {
				return nil, badRequest("messages[%d].content[%d].image_url is required", i, j)
			}
			src, err := imageSource(p.ImageURL.URL)
			if err != nil {
				return nil, badRequest("messages[%d].content[%d].image_url.url: %s", i, j, err.Message)
			}
			out = append(out, anthropic.Block{Type: anthropic.BlockImage, Source: src})
		case openai.PartFile:
			blk, err := fileBlock(p.File)
			if err != nil {
				return nil, badRequest("messages[%d].content[%d].file: %s", i, j, err.Message)
			}
			out = append(out, blk)
		case openai.PartInputAudio:
			return nil, badRequest("messages[%d].content[%d]: audio input is not supported by this model", i, j)
		default:
			return nil, badRequest("messages[%d].content[%d]: unsupported content part type %q", i, j, p.Type)
		}
	}
	return out, nil
}

// imageSource turns an image URL (http(s) or a base64 data URL) into an
// Anthropic image source.
func imageSource(u string) (*anthropic.Source, *Error) {
	if strings.HasPrefix(u, "data:") {
		mediaType, data, ok := parseDataURL(u)
		if !ok {
			return nil, badRequest("a data URL must be data:<media type>;base64,<data>")
		}
		return &anthropic.Source{Type: anthropic.SourceBase64, MediaType: mediaType, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &anthropic.Source{Type: anthropic.SourceURL, URL: u}, nil
	}
	return nil, badRequest("must be an http(s) URL or a base64 data URL")
}

// parseDataURL splits "data:<type>;base64,<data>".
func parseDataURL(u string) (mediaType, data string, ok bool) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return "", "", false
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", false
	}
	mediaType, ok = strings.CutSuffix(meta, ";base64")
	if !ok || mediaType == "" || data == "" {
		return "", "", false
	}
	if k := strings.IndexByte(mediaType, ';'); k >= 0 {
		mediaType = mediaType[:k] // parameters such as charset
	}
	return mediaType, data, true
}

func fileBlock(f *openai.File) (anthropic.Block, *Error) {
	if f == nil || f.FileData == "" {
		return anthropic.Block{}, badRequest("only inline files (file_data) are supported by this model")
	}
	mediaType, data, ok := parseDataURL(f.FileData)
	if !ok {
		return anthropic.Block{}, badRequest("file_data must be a base64 data URL")
	}
	return anthropic.Block{Type: anthropic.BlockDocument, Title: f.Filename,
		Source: &anthropic.Source{Type: anthropic.SourceBase64, MediaType: mediaType, Data: data}}, nil
}

func assistantBlocks(m openai.Message, i int) ([]anthropic.Block, error) {
	if len(m.FunctionCall) > 0 && string(m.FunctionCall) != "null" {
		return nil, badRequest("messages[%d].function_call is not supported by this model: use tool_calls", i)
	}
	var out []anthropic.Block
	if m.Content.Text != nil {
		if *m.Content.Text != "" {
			out = append(out, anthropic.Block{Type: anthropic.BlockText, Text: *m.Content.Text})
		}
	} else {
		for j, p := range m.Content.Parts {
			var text string
			switch p.Type {
			case openai.PartText:
				text = p.Text
			case openai.PartRefusal:
				text = p.Refusal
			default:
				return nil, badRequest("messages[%d].content[%d]: an assistant message may hold only text, got %q", i, j, p.Type)
			}
			if text != "" {
				out = append(out, anthropic.Block{Type: anthropic.BlockText, Text: text})
			}
		}
	}
	if m.Refusal != nil && *m.Refusal != "" && len(out) == 0 {
		out = append(out, anthropic.Block{Type: anthropic.BlockText, Text: *m.Refusal})
	}
	for j, tc := range m.ToolCalls {
		if tc.Type != "" && tc.Type != "function" {
			return nil, badRequest("messages[%d].tool_calls[%d]: only function calls are supported by this model, got type %q", i, j, tc.Type)
		}
		input, err := argumentsObject(tc.Function.Arguments)
		if err != nil {
			return nil, badRequest("messages[%d].tool_calls[%d].function.arguments: %s", i, j, err.Message)
		}
		out = append(out, anthropic.Block{Type: anthropic.BlockToolUse, ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	return out, nil
}

// argumentsObject turns a function call's arguments (a JSON text) into a
// tool_use input, which must be a JSON object; empty arguments are {}.
func argumentsObject(args string) (json.RawMessage, *Error) {
	if strings.TrimSpace(args) == "" {
		return json.RawMessage("{}"), nil
	}
	v, err := rawjson.Trim([]byte(args))
	if err != nil || v[0] != '{' {
		return nil, badRequest("must be a JSON object")
	}
	return rawjson.AppendCompact(nil, v), nil
}

func toolResultBlock(m openai.Message, i int) (anthropic.Block, error) {
	if m.ToolCallID == "" {
		return anthropic.Block{}, badRequest("messages[%d].tool_call_id is required for role \"tool\"", i)
	}
	blk := anthropic.Block{Type: anthropic.BlockToolResult, ToolUseID: m.ToolCallID}
	switch {
	case m.Content.Text != nil:
		if *m.Content.Text != "" {
			c := anthropic.TextContent(*m.Content.Text)
			blk.Content = &c
		}
	case len(m.Content.Parts) > 0:
		blocks, err := textBlocks(m.Content, i)
		if err != nil {
			return blk, err
		}
		if len(blocks) > 0 {
			blk.Content = &anthropic.Content{Blocks: blocks}
		}
	}
	return blk, nil
}

// RequestToOpenAI translates an Anthropic messages request into an OpenAI
// chat completions request. A streamed request asks for the usage chunk
// (stream_options.include_usage), which the stream translation needs for
// the final usage. It refuses (with a 400 *Error) what OpenAI cannot do:
// server tools and their blocks, non-PDF documents by base64 other than
// text. What it drops is listed in docs/ai-gateway.md.
func RequestToOpenAI(req *anthropic.Request, opt RequestOptions) (*openai.ChatRequest, error) {
	out := &openai.ChatRequest{Model: req.Model, Stream: req.Stream}
	if opt.Model != "" {
		out.Model = opt.Model
	}
	if req.Stream {
		out.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	if !req.System.IsZero() {
		if text := req.System.JoinText("\n\n"); text != "" {
			out.Messages = append(out.Messages, openai.Message{Role: openai.RoleSystem, Content: openai.TextContent(text)})
		}
	}
	for i, m := range req.Messages {
		var err error
		switch m.Role {
		case anthropic.RoleUser:
			out.Messages, err = appendUser(out.Messages, m.Content, i)
		case anthropic.RoleAssistant:
			out.Messages, err = appendAssistant(out.Messages, m.Content, i)
		default:
			err = badRequest("messages[%d].role: must be \"user\" or \"assistant\", got %q", i, m.Role)
		}
		if err != nil {
			return nil, err
		}
	}

	n := req.MaxTokens
	if opt.MaxCompletionTokens {
		out.MaxCompletionTokens = &n
	} else {
		out.MaxTokens = &n
	}
	out.Temperature = req.Temperature // 0..1 lies within OpenAI's 0..2
	out.TopP = req.TopP
	if len(req.StopSequences) > 0 {
		out.Stop = append(openai.Stop(nil), req.StopSequences...)
	}
	if req.Metadata != nil {
		out.User = req.Metadata.UserID
	}
	for i, t := range req.Tools {
		if !t.IsClientTool() {
			return nil, badRequest("tools[%d]: server tool %q is not supported by this model", i, t.Type)
		}
		out.Tools = append(out.Tools, openai.Tool{Type: "function", Function: &openai.FunctionDef{
			Name: t.Name, Description: t.Description, Parameters: t.InputSchema}})
	}
	if tc := req.ToolChoice; tc != nil {
		c := &openai.ToolChoice{}
		switch tc.Type {
		case anthropic.ToolChoiceAuto:
			c.Mode = openai.ToolChoiceAuto
		case anthropic.ToolChoiceAny:
			c.Mode = openai.ToolChoiceRequired
		case anthropic.ToolChoiceNone:
			c.Mode = openai.ToolChoiceNone
		case anthropic.ToolChoiceTool:
			if tc.Name == "" {
				return nil, badRequest("tool_choice.name is required for type \"tool\"")
			}
			c.Function = tc.Name
		default:
			return nil, badRequest("tool_choice.type: unknown value %q", tc.Type)
		}
		out.ToolChoice = c
		if p := tc.DisableParallelToolUse; p != nil && *p && len(out.Tools) > 0 {
			no := false
			out.ParallelToolCalls = &no
		}
	}
	if oc := req.OutputConfig; oc != nil && oc.Format != nil && oc.Format.Type == "json_schema" && len(oc.Format.Schema) > 0 {
		strict := true
		out.ResponseFormat = &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.JSONSchema{
			Name: "output", Schema: oc.Format.Schema, Strict: &strict}}
	}
	return out, nil
}

// appendUser adds an Anthropic user turn: its tool results become tool
// messages (first, as OpenAI wants them right after the assistant's
// calls), the rest one user message.
func appendUser(msgs []openai.Message, c anthropic.Content, i int) ([]openai.Message, error) {
	if c.Text != nil {
		return append(msgs, openai.Message{Role: openai.RoleUser, Content: openai.TextContent(*c.Text)}), nil
	}
	var parts, moved []openai.ContentPart
	for j, b := range c.Blocks {
		switch b.Type {
		case anthropic.BlockToolResult:
			tm, images, err := toolMessage(b, i, j)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, tm)
			moved = append(moved, images...)
		case anthropic.BlockText:
			if b.Text != "" {
				parts = append(parts, openai.ContentPart{Type: openai.PartText, Text: b.Text})
			}
		case anthropic.BlockImage, anthropic.BlockDocument:
			p, err := mediaPart(b)
			if err != nil {
				return nil, badRequest("messages[%d].content[%d]: %s", i, j, err.Message)
			}
			parts = append(parts, p)
		case anthropic.BlockThinking, anthropic.BlockRedactedThinking:
			// Dropped: only the model that wrote it can read it.
		default:
			return nil, badRequest("messages[%d].content[%d]: block type %q is not supported by this model", i, j, b.Type)
		}
	}
	parts = append(parts, moved...)
	if len(parts) == 0 {
		return msgs, nil
	}
	if len(parts) == 1 && parts[0].Type == openai.PartText {
		return append(msgs, openai.Message{Role: openai.RoleUser, Content: openai.TextContent(parts[0].Text)}), nil
	}
	return append(msgs, openai.Message{Role: openai.RoleUser, Content: openai.Content{Parts: parts}}), nil
}

// toolMessage turns a tool_result into a tool message. OpenAI's tool
// messages hold text only: images in the result are returned to be sent
// in the user message that follows.
func toolMessage(b anthropic.Block, i, j int) (openai.Message, []openai.ContentPart, error) {
	m := openai.Message{Role: openai.RoleTool, ToolCallID: b.ToolUseID}
	var texts []string
	var images []openai.ContentPart
	if b.Content != nil {
		if b.Content.Text != nil {
			texts = append(texts, *b.Content.Text)
		}
		for k, cb := range b.Content.Blocks {
			switch cb.Type {
			case anthropic.BlockText:
				texts = append(texts, cb.Text)
			case anthropic.BlockImage, anthropic.BlockDocument:
				p, err := mediaPart(cb)
				if err != nil {
					return m, nil, badRequest("messages[%d].content[%d].content[%d]: %s", i, j, k, err.Message)
				}
				images = append(images, p)
			default:
				return m, nil, badRequest("messages[%d].content[%d].content[%d]: block type %q is not supported by this model", i, j, k, cb.Type)
			}
		}
	}
	m.Content = openai.TextContent(strings.Join(texts, "\n"))
	return m, images, nil
}

// mediaPart turns an image or document block into a content part.
func mediaPart(b anthropic.Block) (openai.ContentPart, *Error) {
	s := b.Source
	if s == nil {
		return openai.ContentPart{}, badRequest("source is required")
	}
	if b.Type == anthropic.BlockImage {
		switch s.Type {
		case anthropic.SourceBase64:
			return openai.ContentPart{Type: openai.PartImageURL, ImageURL: &openai.ImageURL{URL: "data:" + s.MediaType + ";base64," + s.Data}}, nil
		case anthropic.SourceURL:
			return openai.ContentPart{Type: openai.PartImageURL, ImageURL: &openai.ImageURL{URL: s.URL}}, nil
		}
		return openai.ContentPart{}, badRequest("image source type %q is not supported by this model", s.Type)
	}
	switch s.Type {
	case anthropic.SourceBase64:
		name := b.Title
		if name == "" {
			name = "document.pdf"
		}
		return openai.ContentPart{Type: openai.PartFile, File: &openai.File{FileData: "data:" + s.MediaType + ";base64," + s.Data, Filename: name}}, nil
	case anthropic.SourceText:
		return openai.ContentPart{Type: openai.PartText, Text: s.Data}, nil
	}
	return openai.ContentPart{}, badRequest("document source type %q is not supported by this model", s.Type)
}

func appendAssistant(msgs []openai.Message, c anthropic.Content, i int) ([]openai.Message, error) {
	m := openai.Message{Role: openai.RoleAssistant}
	if c.Text != nil {
		m.Content = openai.TextContent(*c.Text)
		return append(msgs, m), nil
	}
	var text strings.Builder
	hasText := false
	for j, b := range c.Blocks {
		switch b.Type {
		case anthropic.BlockText:
			text.WriteString(b.Text)
			hasText = true
		case anthropic.BlockToolUse:
			args := "{}"
			if len(b.Input) > 0 {
				v, err := rawjson.Trim(b.Input)
				if err != nil {
					return nil, badRequest("messages[%d].content[%d].input: must be a JSON object", i, j)
				}
				args = string(rawjson.AppendCompact(nil, v))
			}
			m.ToolCalls = append(m.ToolCalls, openai.ToolCall{ID: b.ID, Type: "function",
				Function: openai.FunctionCall{Name: b.Name, Arguments: args}})
		case anthropic.BlockThinking, anthropic.BlockRedactedThinking:
			// Dropped: only the model that wrote it can read it.
		default:
			return nil, badRequest("messages[%d].content[%d]: block type %q is not supported by this model", i, j, b.Type)
		}
	}
	if hasText {
		m.Content = openai.TextContent(text.String())
	}
	if m.Content.IsZero() && len(m.ToolCalls) == 0 {
		return msgs, nil
	}
	return append(msgs, m), nil
}
