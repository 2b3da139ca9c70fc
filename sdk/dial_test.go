package sdk_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/moongate/moongate/sdk"
)

func TestHTTPPolicyCheck(t *testing.T) {
	def := sdk.DefaultHTTPPolicy()
	private, err := sdk.NewHTTPPolicy([]string{"127.0.0.0/8", "::1", "10.0.0.0/8", "169.254.0.0/16"}, []string{"10.1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		policy *sdk.HTTPPolicy
		dst    string
		reason string // "" when allowed
	}{
		{def, "169.254.169.254:80", "lua.http_deny covers it"},
		{def, "[::ffff:169.254.169.254]:80", "lua.http_deny covers it"},
		{def, "[fe80::1%eth0]:80", "lua.http_deny covers it"}, // a zone does not hide it
		{def, "[fd00:ec2::254]:80", "lua.http_deny covers it"},
		{def, "0.0.0.0:8080", "an unspecified address connects to this host"},
		{def, "[::]:8080", "an unspecified address connects to this host"},
		{def, "127.0.0.1:9000", ""},
		{def, "[::1]:9000", ""},
		{def, "10.0.0.5:443", ""},
		{private, "127.0.0.1:9000", "lua.http_deny covers it"},
		{private, "[::1]:9000", "lua.http_deny covers it"},
		{private, "10.0.0.5:443", "lua.http_deny covers it"},
		{private, "10.1.2.3:443", ""},
		{private, "192.0.2.7:443", ""},
	} {
		err := tc.policy.Check(netip.MustParseAddrPort(tc.dst))
		var refused *sdk.RefusedError
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%s: got %v, want allowed", tc.dst, err)
		case tc.reason != "" && (!errors.As(err, &refused) || refused.Reason != tc.reason):
			t.Errorf("%s: got %v, want refused: %s", tc.dst, err, tc.reason)
		}
	}
	if _, err := sdk.NewHTTPPolicy([]string{"nope"}, nil); err == nil {
		t.Error("NewHTTPPolicy accepted a bad CIDR")
	}
}
