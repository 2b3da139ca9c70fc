// Package iprestriction is the "ip-restriction" plugin: it lets requests
// through by the real client address.
//
//	[[routes.plugins]]
//	name = "ip-restriction"
//	[routes.plugins.config]
//	allow = ["10.0.0.0/8", "192.0.2.7"]   # when set, only these
//	deny = ["10.0.9.0/24"]                # never these (deny wins)
//	status = 403                          # default 403
//	message = "access denied"
//	header = "CF-Connecting-IP"           # a front proxy's client address header; default "": none
//
// The address is the peer's, or, when the peer is one of [server]
// trusted_proxies, the rightmost X-Forwarded-For entry that is not a
// trusted proxy: a client cannot choose its address by sending
// X-Forwarded-For or X-Real-IP itself. With header, the address is read
// from that header instead, again only when the peer is a trusted proxy.
package iprestriction
