package translate_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/moongate/moongate/plugins/aiproxy/sse"
	"github.com/moongate/moongate/plugins/aiproxy/translate"
)

// A provider's Anthropic stream, translated for an OpenAI client event by
// event: read an event, translate it into the buffer, write the buffer
// (sse.Writer flushes each write when the client connection can).
func ExampleStreamToOpenAI() {
	provider := strings.NewReader("event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_1","model":"claude-haiku-4-5","usage":{"input_tokens":9,"output_tokens":1}}}` + "\n\n" +
		"event: content_block_start\n" +
		`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
		"event: content_block_delta\n" +
		`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi!"}}` + "\n\n" +
		"event: message_delta\n" +
		`data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}` + "\n\n" +
		"event: message_stop\n" +
		`data: {"type":"message_stop"}` + "\n\n")

	r := sse.NewReader(provider, 0)
	w := sse.NewWriter(os.Stdout)
	tr := translate.NewStreamToOpenAI(translate.ResponseOptions{Model: "my-alias", Created: 1700000000}, true)
	var buf []byte
	for !tr.Done() {
		ev, err := r.Next()
		if err != nil {
			buf, _ = tr.End(buf[:0]) // io.EOF or a broken connection
			w.WriteRaw(buf)
			break
		}
		if !ev.HasData {
			continue
		}
		buf, _ = tr.Event(buf[:0], ev.Type, ev.Data)
		if err := w.WriteRaw(buf); err != nil {
			break // the client went away: cancel the provider request
		}
	}
	u, _ := tr.Usage()
	fmt.Printf("usage: %d prompt + %d completion\n", u.Prompt, u.Completion)
	// Output:
	// data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"my-alias","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}
	//
	// data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"my-alias","choices":[{"index":0,"delta":{"content":"Hi!"},"logprobs":null,"finish_reason":null}],"usage":null}
	//
	// data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"my-alias","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}
	//
	// data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"my-alias","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0}}}
	//
	// data: [DONE]
	//
	// usage: 9 prompt + 2 completion
}
