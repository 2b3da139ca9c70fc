package gateway

import (
	"sync"

	"github.com/moongate/moongate/core/admin"
)

type adminExtension struct {
	method, path string
	h            admin.Handler
}

var (
	extMu      sync.Mutex
	extensions []adminExtension
)

// HandleAdmin adds an endpoint to the admin API of every gateway started
// afterwards, for packages outside core (a plugin's counters, say). It is
// meant to be called from init; the endpoint gets the admin API's token
// check like the others.
func HandleAdmin(method, path string, h admin.Handler) {
	extMu.Lock()
	defer extMu.Unlock()
	extensions = append(extensions, adminExtension{method, path, h})
}

func registerExtensions(a *admin.Server) {
	extMu.Lock()
	defer extMu.Unlock()
	for _, e := range extensions {
		a.Handle(e.method, e.path, e.h)
	}
}
