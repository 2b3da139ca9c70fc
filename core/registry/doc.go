// Package registry is the one kind of name registry moongate has: plugins,
// script engines, credential kinds, balancers, CLI commands, admin
// endpoints and Lua SDK namespaces are each registered in a Registry,
// with the same rules.
//
// The rules: registrations are made from init functions (a Registry is
// safe for concurrent use all the same); a name is registered once, and
// an empty or duplicate name panics at start-up, naming the source
// lines of both registrations, so that two packages claiming one name
// are found before anything runs; lookups by name never see a partial
// registration.
package registry
