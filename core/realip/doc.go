// Package realip finds a request's real client address when the gateway
// sits behind other proxies, believing X-Forwarded-For only from the
// proxies it is told to trust.
package realip
