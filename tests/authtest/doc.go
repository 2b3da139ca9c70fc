// Package authtest holds the end-to-end tests of the identity and access
// plugins working together in a real gateway: the attacks they must
// withstand, multi-auth, identity headers and reloads. It has no code of
// its own.
package authtest
