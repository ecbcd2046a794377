package config

import (
	"strings"
	"testing"

	"github.com/hookgate/hookgate/plugins/policy"
)

// TestPluginPolicies: kv quotas default from [plugins] and then
// policy.DefaultKVQuota; okta_groups / okta_apps decode per plugin; bad
// values are refused naming the key.
func TestPluginPolicies(t *testing.T) {
	src := `
[plugins]
kv_max_keys = 50

[[plugin]]
name = "a"
path = "a.wasm"
capabilities = ["okta", "kv"]
kv_max_bytes = 4096
okta_groups = ["oncall-engineers", "00g123"]
okta_apps = ["*"]

[[plugin]]
name = "b"
path = "b.wasm"
`
	c, err := Parse([]byte(src), t.TempDir(), Overrides{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.PluginByName("a"), c.PluginByName("b")
	if a.KVMaxKeys != 50 || a.KVMaxBytes != 4096 || b.KVMaxKeys != 50 || b.KVMaxBytes != policy.DefaultKVQuota().KVMaxBytes {
		t.Errorf("quotas a %+v b %+v", a.KVQuota, b.KVQuota)
	}
	if !a.OktaScope.AllowsGroup("00gother", "Oncall-Engineers") || !a.OktaScope.AllowsGroup("00g123", "") || a.OktaScope.AllowsGroup("00gx", "platform") ||
		!a.OktaScope.AllowsApp("0oa1", "slack", "Slack") || !b.OktaScope.Empty() || b.OktaScope.AllowsGroup("00g123", "x") {
		t.Errorf("scopes a %+v b %+v", a.OktaScope, b.OktaScope)
	}
	for bad, key := range map[string]string{
		strings.Replace(src, "kv_max_bytes = 4096", "kv_max_bytes = -1", 1):                           "plugin[0] (a).kv_max_bytes",
		strings.Replace(src, "kv_max_keys = 50", "kv_max_keys = -5", 1):                               "plugins.kv_max_keys",
		strings.Replace(src, `capabilities = ["okta", "kv"]`, `capabilities = ["kv"]`, 1):             "plugin[0] (a).okta_groups: okta_groups / okta_apps set but the plugin lacks the \"okta\" capability",
		strings.Replace(src, `okta_groups = ["oncall-engineers", "00g123"]`, `okta_groups = [""]`, 1): "plugin[0] (a).okta_groups: empty entry",
	} {
		if _, err := Parse([]byte(bad), t.TempDir(), Overrides{Offline: true}); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("err %v, want one naming %q", err, key)
		}
	}
}
