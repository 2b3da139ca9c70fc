package jsonedit_test

import (
	"fmt"

	"github.com/moongate/moongate/core/jsonedit"
)

func Example() {
	// At load time, from the plugin's configuration.
	p, err := jsonedit.Compile([]jsonedit.Op{
		{Kind: jsonedit.Remove, Path: "password"},
		{Kind: jsonedit.Rename, Path: "user", To: "username"},
		{Kind: jsonedit.Set, Path: "meta.consumer", Value: jsonedit.Arg(0)}, // a template's expansion
		{Kind: jsonedit.Append, Path: "tags", Value: jsonedit.String("via-gateway")},
	})
	if err != nil {
		panic(err)
	}
	// Per request.
	body := []byte(`{"user": "ann", "password": "s3cret", "amount": 1.50e2, "tags": ["a"]}`)
	out, err := p.Apply(nil, body, [][]byte{[]byte(`alice "the admin"`)})
	fmt.Println(string(out), err)
	// Output:
	// {"username": "ann", "amount": 1.50e2, "tags": ["a","via-gateway"],"meta":{"consumer":"alice \"the admin\""}} <nil>
}
