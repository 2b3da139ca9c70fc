// Package acl is the "acl" plugin: it lets a request through by the
// groups of its consumer, set by an authentication step earlier in the
// chain.
//
//	[[routes.plugins]]
//	name = "acl"
//	[routes.plugins.config]
//	allow = ["admins", "ops"]   # the consumer must be in one of these groups
//	deny = ["suspended"]        # and in none of these (deny wins)
//	ctx_groups = "groups"       # groups a script or Go step set (gw.ctx), for requests without a consumer
//	hide_groups_header = true   # do not send X-Consumer-Groups upstream
//
// A request without a consumer (nor ctx_groups value) gets 401; a consumer
// not allowed gets 403.
package acl
