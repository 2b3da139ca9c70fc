package config

import (
	"slices"
	"testing"
)

func TestAdminAllowedHostsAndLuaHTTPLists(t *testing.T) {
	cfg, ps := parse(t, "")
	if ps != nil {
		t.Fatal(ps)
	}
	if len(cfg.Admin.AllowedHosts) != 0 || !slices.Equal(cfg.Lua.HTTPDeny, DefaultHTTPDeny) || len(cfg.Lua.HTTPAllow) != 0 {
		t.Errorf("defaults: admin %+v, lua.http_deny %v, lua.http_allow %v", cfg.Admin, cfg.Lua.HTTPDeny, cfg.Lua.HTTPAllow)
	}
	cfg, ps = parse(t, `[admin]
allowed_hosts = ["gateway.internal", "10.0.0.5", "fd00::1"]
[lua]
http_deny = ["127.0.0.0/8", "::1"]
http_allow = ["127.0.0.1"]
`)
	if ps != nil {
		t.Fatal(ps)
	}
	if len(cfg.Admin.AllowedHosts) != 3 || !slices.Equal(cfg.Lua.HTTPDeny, []string{"127.0.0.0/8", "::1"}) {
		t.Errorf("decoded: %+v %+v", cfg.Admin, cfg.Lua)
	}
	_, ps = parse(t, `[admin]
allowed_hosts = ["ok.example", "gateway.internal:9080", "http://x", "*.example.com", ""]
[lua]
http_deny = ["169.254.0.0/16", "metadata"]
http_allow = ["10.0.0.0/33"]
`)
	wantProblem(t, ps, 2, "admin.allowed_hosts[1]", `without a port`)
	wantProblem(t, ps, 2, "admin.allowed_hosts[2]", `"http://x"`)
	wantProblem(t, ps, 2, "admin.allowed_hosts[3]", `"*.example.com"`)
	wantProblem(t, ps, 2, "admin.allowed_hosts[4]", `got ""`)
	wantProblem(t, ps, 4, "lua.http_deny[1]", `is not an IP address or CIDR: "metadata"`)
	wantProblem(t, ps, 5, "lua.http_allow[0]", `is not an IP address or CIDR`)
	if len(ps) != 6 {
		t.Errorf("got %d problems, want 6:\n%v", len(ps), ps)
	}
}
