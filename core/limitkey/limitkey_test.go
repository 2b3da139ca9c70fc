package limitkey

import (
	"net"
	"strings"
	"testing"

	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin"
	"github.com/moongate/moongate/core/plugin/plugintest"
	"github.com/valyala/fasthttp"
)

// request builds a context for GET uri from addr with the header pairs.
func request(t testing.TB, uri, addr string, headers ...string) (*plugin.Context, *fasthttp.RequestCtx) {
	t.Helper()
	var req fasthttp.Request
	req.SetRequestURI(uri)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	fc := &fasthttp.RequestCtx{}
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fc.Init(&req, ta, nil)
	c := plugintest.NewContext(fc)
	t.Cleanup(func() { plugintest.Release(c) })
	return c, fc
}

func TestAppend(t *testing.T) {
	alice := &consumer.Consumer{Name: "alice"}
	for _, tc := range []struct {
		name     string
		spec     []string
		setup    func(c *plugin.Context)
		headers  []string
		want     string
		complete bool
	}{
		{"consumer", []string{"consumer"}, func(c *plugin.Context) { c.Consumer = alice }, nil, "5:alice", true},
		{"no consumer", []string{"consumer"}, nil, nil, "-", false},
		{"ip", []string{"ip"}, nil, nil, "9:192.0.2.7", true},
		{"header", []string{"header:X-Tenant"}, nil, []string{"x-tenant", "acme"}, "4:acme", true},
		{"empty header is missing", []string{"header:X-Tenant"}, nil, []string{"X-Tenant", ""}, "-", false},
		{"param", []string{"param:id"}, func(c *plugin.Context) { c.Params.Set("id", []byte("42")) }, nil, "2:42", true},
		{"query", []string{"query:plan"}, nil, nil, "4:gold", true},
		{"ctx string", []string{"ctx:tier"}, func(c *plugin.Context) { c.SetValue("tier", "free") }, nil, "4:free", true},
		{"ctx number (Lua)", []string{"ctx:n"}, func(c *plugin.Context) { c.SetValue("n", float64(7)) }, nil, "1:7", true},
		{"ctx bool", []string{"ctx:b"}, func(c *plugin.Context) { c.SetValue("b", true) }, nil, "4:true", true},
		{"ctx table is missing", []string{"ctx:t"}, func(c *plugin.Context) { c.SetValue("t", map[string]any{}) }, nil, "-", false},
		{"combined", []string{"consumer", "ip", "header:X-Tenant"}, func(c *plugin.Context) { c.Consumer = alice },
			[]string{"X-Tenant", "acme"}, "5:alice9:192.0.2.74:acme", true},
		{"combined, one missing", []string{"consumer", "ip"}, nil, nil, "-9:192.0.2.7", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Parse(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := request(t, "http://x/users/42?plan=gold", "192.0.2.7:5000", tc.headers...)
			if tc.setup != nil {
				tc.setup(c)
			}
			got, complete := k.Append([]byte("prefix:"), c)
			if string(got) != "prefix:"+tc.want || complete != tc.complete {
				t.Errorf("got %q, %v; want %q, %v", got, complete, "prefix:"+tc.want, tc.complete)
			}
		})
	}
}

// TestNoCollisions: values a client chooses cannot make another client's
// combined key: lengths frame every part.
func TestNoCollisions(t *testing.T) {
	k, err := Parse([]string{"header:A", "header:B"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string][2]string{}
	for _, ab := range [][2]string{{"x", "y:z"}, {"x:y", "z"}, {"1:x", "y"}, {"x", "1:y"}, {"-", "y"}, {"x1:", "y"}, {"x", "-"}} {
		c, _ := request(t, "http://x/", "192.0.2.7:5000", "A", ab[0], "B", ab[1])
		key, _ := k.Append(nil, c)
		if prev, ok := seen[string(key)]; ok {
			t.Errorf("%q and %q give the same key %q", prev, ab, key)
		}
		seen[string(key)] = ab
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		spec []string
		want string
	}{
		{nil, "needs at least one"},
		{[]string{"user"}, `must be "consumer", "ip", "route"`},
		{[]string{"header:"}, "invalid header name"},
		{[]string{"header:X Y"}, "invalid header name"},
		{[]string{"cookie:sid"}, `unknown kind "cookie"`},
		{[]string{"ctx:"}, "needs a name"},
		{[]string{"ip", "ip"}, `[1]: "ip" is given twice`},
		{[]string{"ip", "bogus"}, "[1]: must be"},
	} {
		if _, err := Parse(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
	k, _ := Parse([]string{"consumer", "ip"})
	if k.String() != "consumer,ip" || !strings.EqualFold(strings.Join(k.Spec(), ","), "consumer,ip") || k.Only("ip") {
		t.Errorf("String = %q", k.String())
	}
}
