package acl

import (
	"strings"
	"testing"

	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/plugin/plugintest"
)

// The step answers with the gateway's error format and stops the chain;
// an anonymous consumer passes only with allow_anonymous.
func TestAnswers(t *testing.T) {
	strict := plugintest.New(t, "[[plugins]]\nname = \"acl\"\n[plugins.config]\ndeny = [\"banned\"]\n")
	lenient := plugintest.New(t, "[[plugins]]\nname = \"acl\"\n[plugins.config]\ndeny = [\"banned\"]\nallow_anonymous = true\n")
	guest := &consumer.Consumer{Name: "guest", Groups: []string{"guests"}, Anonymous: true}
	for _, tc := range []struct {
		name     string
		ch       *plugintest.Chain
		consumer *consumer.Consumer
		status   int
		message  string
	}{
		{"no consumer", strict, nil, 401, "authentication required"},
		{"deny only: others pass", strict, &consumer.Consumer{Name: "a", Groups: []string{"users"}}, 200, ""},
		{"denied group", strict, &consumer.Consumer{Name: "a", Groups: []string{"users", "banned"}}, 403, "access denied"},
		{"anonymous", strict, guest, 403, "access denied"},
		{"anonymous allowed", lenient, guest, 200, ""},
	} {
		res := tc.ch.Do(plugintest.Request{Consumer: tc.consumer})
		if res.Status != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.name, res.Status, tc.status)
		}
		if tc.status != 200 && (!res.Stopped || !strings.Contains(res.Body, `"error":"`+tc.message+`"`)) {
			t.Fatalf("%s: stopped %v, body %s", tc.name, res.Stopped, res.Body)
		}
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{`allow_anonymous = true`, "test.toml:3: plugins[0].config.allow: needs allow or deny groups"},
		{`allow = ["admins", ""]`, "test.toml:4: plugins[0].config.allow: group names must not be empty"},
		{`deny = [""]`, "test.toml:4: plugins[0].config.deny: group names must not be empty"},
		{`allow = "admins"`, "test.toml:4: plugins[0].config.allow:"},
	} {
		_, err := plugintest.Build("[[plugins]]\nname = \"acl\"\n[plugins.config]\n" + tc.config + "\n")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.config, err, tc.want)
		}
	}
}
