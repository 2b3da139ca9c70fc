// Command gen writes the SDK reference (docs/lua-sdk.md) and the editor
// annotation file (sdk/gw.lua) from the bindings. Run it with
// `go generate ./sdk` from the repository root.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/moongate/moongate/sdk"
)

func main() {
	// go generate runs in the package directory, sdk/.
	root := ".."
	if _, err := os.Stat("sdk"); err == nil {
		root = "."
	}
	write := func(path string, data []byte) {
		if err := os.WriteFile(filepath.Join(root, path), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("docs/lua-sdk.md", sdk.Markdown())
	write("sdk/gw.lua", sdk.Annotations())
}
