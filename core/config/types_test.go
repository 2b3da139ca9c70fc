package config

import (
	"strings"
	"testing"
)

// TestWrongTypeMessages: a value of the wrong TOML type is named once, with
// the value itself: "got an integer (8080)", never "got an integer, got 8080".
func TestWrongTypeMessages(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"string list given an integer", "[server]\nlisten = 8080\n",
			"test.toml:2: server.listen: expected a string or a list of strings, got an integer (8080)"},
		{"string list holding an integer", "[server]\nlisten = [\"127.0.0.1:1\", 2]\n",
			"test.toml:2: server.listen: expected a string or a list of strings, got a list containing an integer (2)"},
		{"duration given an integer", "[server]\nread_timeout = 30\n",
			`test.toml:2: server.read_timeout: expected a duration string such as "250ms" or "30s", got an integer (30)`},
		{"size given a boolean", "[server]\nmax_body_size = true\n",
			`test.toml:2: server.max_body_size: expected a size such as "8KB" or "512MB", got a boolean (true)`},
		{"integer given a string", "[server]\nmax_connections = \"many\"\n",
			`test.toml:2: server.max_connections: expected an integer, got a string ("many")`},
		{"boolean given a string", "[server]\nstrict_paths = \"yes\"\n",
			`test.toml:2: server.strict_paths: expected true or false, got a string ("yes")`},
		{"array given a string", "[[routes]]\nmethods = \"GET\"\n",
			`test.toml:2: routes[0].methods: expected an array, got a string ("GET")`},
		{"table given a float", "server = 1.5\n",
			"test.toml:1: server: expected a table, got a float (1.5)"},
		// String fields hold tokens: the value is left out.
		{"string given an integer", "[admin]\ntoken = 12345678\n",
			"test.toml:2: admin.token: expected a string, got an integer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ps := parse(t, tc.src)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(ps), ps)
			}
			if got := ps[0].Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if strings.Count(ps[0].Reason, "got") != 1 {
				t.Errorf("%q says \"got\" more than once", ps[0].Reason)
			}
		})
	}
}

// TestWrongTypeFromEnvironmentHidesValue: a value holding a "${VAR}"
// reference is not shown in a type error, as in every other error (a
// guard: this was already so).
func TestWrongTypeFromEnvironmentHidesValue(t *testing.T) {
	t.Setenv("MG_TEST_LISTEN", "127.0.0.1:1")
	_, ps := parse(t, "[server]\nlisten = [\"${MG_TEST_LISTEN}\", 2]\n")
	want := "test.toml:2: server.listen: expected a string or a list of strings, got a list containing an integer (value from the environment not shown)"
	if len(ps) != 1 || ps[0].Error() != want {
		t.Errorf("got %v\nwant %s", ps, want)
	}
}
