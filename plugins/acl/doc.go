// Package acl is the "acl" plugin: it lets a request through by the
// groups of its consumer, set by an authentication step earlier in the
// chain.
//
//	[[routes.plugins]]
//	name = "acl"
//	[routes.plugins.config]
//	allow = ["admins", "ops"]   # the consumer must be in one of these groups
//	deny = ["suspended"]        # and in none of these (deny wins)
//
// A request without a consumer gets 401; a consumer not allowed gets 403.
package acl
