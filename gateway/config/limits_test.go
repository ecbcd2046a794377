package config

import (
	"strings"
	"testing"

	"github.com/hookgate/hookgate/plugins/modlimits"
)

// TestModuleLimits: [plugins] sets the module limits for every plugin, a
// [[plugin]] table overrides them, the rest are the defaults, and a bad
// value is refused naming its key.
func TestModuleLimits(t *testing.T) {
	src := `
[plugins]
max_locals = 1000
max_table_entries = 5000

[[plugin]]
name = "a"
path = "a.wasm"
max_locals = 10
max_module_bytes = 12345

[[plugin]]
name = "b"
path = "b.wasm"
`
	c, err := Parse([]byte(src), t.TempDir(), Overrides{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	def := modlimits.Default()
	a, b := c.PluginByName("a").Limits, c.PluginByName("b").Limits
	if a.MaxLocals != 10 || a.MaxModuleBytes != 12345 || a.MaxTableEntries != 5000 || a.MaxFunctions != def.MaxFunctions {
		t.Errorf("plugin a: %+v", a)
	}
	if b.MaxLocals != 1000 || b.MaxModuleBytes != def.MaxModuleBytes || b.MaxTableEntries != 5000 {
		t.Errorf("plugin b: %+v", b)
	}
	for bad, key := range map[string]string{
		strings.Replace(src, "max_locals = 10\n", "max_locals = -3\n", 1):                    "plugin[0] (a).max_locals: must not be negative",
		strings.Replace(src, "max_table_entries = 5000", "max_table_entries = 999999999", 1): "plugins.max_table_entries:",
	} {
		if _, err := Parse([]byte(bad), t.TempDir(), Overrides{Offline: true}); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("err %v, want one naming %q", err, key)
		}
	}
}
