// Command moongate is the moongate API gateway. It links the built-in
// plugins in (each registers itself) and hands over to the command line.
package main

import (
	"os"

	"github.com/moongate/moongate/core/cli"
	_ "github.com/moongate/moongate/plugins/accesslog"
	_ "github.com/moongate/moongate/plugins/acl"
	_ "github.com/moongate/moongate/plugins/aiproxy"
	_ "github.com/moongate/moongate/plugins/basicauth"
	_ "github.com/moongate/moongate/plugins/cache"
	_ "github.com/moongate/moongate/plugins/compression"
	_ "github.com/moongate/moongate/plugins/concurrencylimit"
	_ "github.com/moongate/moongate/plugins/cors"
	_ "github.com/moongate/moongate/plugins/forwardauth"
	_ "github.com/moongate/moongate/plugins/headers"
	_ "github.com/moongate/moongate/plugins/hmacauth"
	_ "github.com/moongate/moongate/plugins/iprestriction"
	_ "github.com/moongate/moongate/plugins/jwt"
	_ "github.com/moongate/moongate/plugins/keyauth"
	_ "github.com/moongate/moongate/plugins/lua"
	_ "github.com/moongate/moongate/plugins/mock"
	_ "github.com/moongate/moongate/plugins/multiauth"
	_ "github.com/moongate/moongate/plugins/opentelemetry"
	_ "github.com/moongate/moongate/plugins/ratelimit"
	_ "github.com/moongate/moongate/plugins/redirect"
	_ "github.com/moongate/moongate/plugins/requestid"
	_ "github.com/moongate/moongate/plugins/requestsizelimit"
	_ "github.com/moongate/moongate/plugins/requesttermination"
	_ "github.com/moongate/moongate/plugins/requesttransformer"
	_ "github.com/moongate/moongate/plugins/requestvalidator"
	_ "github.com/moongate/moongate/plugins/responsetransformer"
	_ "github.com/moongate/moongate/plugins/session"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
