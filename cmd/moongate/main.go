// Command moongate is the moongate API gateway. It links the built-in
// plugins in (each registers itself) and hands over to the command line.
package main

import (
	"os"

	"github.com/moongate/moongate/core/cli"
	_ "github.com/moongate/moongate/plugins/headers"
	_ "github.com/moongate/moongate/plugins/mock"
	_ "github.com/moongate/moongate/plugins/requestid"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
