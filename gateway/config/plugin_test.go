package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/plugins"
)

// TestPluginDefaultsFromOnePlace: a [[plugin]] that sets nothing but name
// and path gets plugins.DefaultConfig's limits through the file, as a
// hand-built plugins.Config gets them through Host.Load; [plugins] shows
// the same values; a [plugins] value overrides the default.
func TestPluginDefaultsFromOnePlace(t *testing.T) {
	dir := t.TempDir()
	c, err := Parse([]byte("[[plugin]]\nname = \"a\"\npath = \"a.wasm\"\n"), dir, Overrides{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	want := plugins.DefaultConfig()
	want.Name, want.Path, want.Config = "a", c.Plugin[0].Path, map[string]string{}
	if !reflect.DeepEqual(c.Plugin[0], want) {
		t.Errorf("[[plugin]]\n%+v\nwant DefaultConfig's\n%+v", c.Plugin[0], want)
	}
	if got := c.Plugin[0].Or(plugins.Config{}); !reflect.DeepEqual(got, want) {
		t.Errorf("filled twice: %+v", got)
	}
	if d := c.Plugins.limits(); !reflect.DeepEqual(d, plugins.DefaultConfig()) {
		t.Errorf("[plugins]\n%+v\nwant\n%+v", d, plugins.DefaultConfig())
	}

	c, err = Parse([]byte("[plugins]\npool_size = 7\ntimeout = \"3s\"\n[[plugin]]\nname = \"a\"\npath = \"a.wasm\"\n[[plugin]]\nname = \"b\"\npath = \"b.wasm\"\npool_size = 2\n"), dir, Overrides{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.PluginByName("a"), c.PluginByName("b")
	if a.PoolSize != 7 || a.Timeout.Seconds() != 3 || b.PoolSize != 2 || b.Timeout.Seconds() != 3 || a.MemoryLimit != want.MemoryLimit {
		t.Errorf("[plugins] overrides: a %+v, b %+v", a, b)
	}
}

// TestPluginErrorsNameTheirKeys: plugins.Config.Validate's keys come out
// under the table that holds them, every one of them at once.
func TestPluginErrorsNameTheirKeys(t *testing.T) {
	src := `
[plugins]
max_locals = -1
kv_max_keys = -1

[[plugin]]
name = "a"
path = "a.wasm"
pool_size = 5000
capabilities = ["log", "telepathy"]
allowed_hosts = ["https://x.example.com/"]
okta_groups = ["admins"]

[[plugin]]
name = "a"
path = "b.wasm"
timeout = "-1s"
`
	_, err := Parse([]byte(src), t.TempDir(), Overrides{Offline: true})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"plugins.max_locals: must not be negative",
		"plugins.kv_max_keys: ",
		"plugin[0] (a).pool_size: must be 1..1024, got 5000",
		`plugin[0] (a).capabilities: unknown capability "telepathy"`,
		`plugin[0] (a).allowed_hosts: "https://x.example.com/" must be a host or host:port`,
		"plugin[0] (a).allowed_hosts: set but the plugin lacks",
		"plugin[0] (a).okta_groups: ",
		`plugin[1] (a).name: duplicate plugin name "a"`,
		"plugin[1] (a).timeout: must be positive",
	} {
		found := false
		for _, l := range strings.Split(err.Error(), "\n") {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("no line starts with %q:\n%v", want, err)
		}
	}
}
