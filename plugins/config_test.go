package plugins

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/internal/duration"
	"github.com/hookgate/hookgate/plugins/modlimits"
	"github.com/hookgate/hookgate/plugins/policy"
)

// TestConfigValidateNamesKeys: every problem is reported, each naming its
// key relative to the plugin's table.
func TestConfigValidateNamesKeys(t *testing.T) {
	if err := DefaultConfig().Validate(); err == nil || !strings.Contains(err.Error(), "name: ") || !strings.Contains(err.Error(), "path: required") {
		t.Fatalf("defaults without name and path: %v", err)
	}
	c := DefaultConfig()
	c.Name, c.Path = "crm", "crm.wasm"
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults with name and path: %v", err)
	}
	c.Name = "CRM"
	c.PoolSize = 5000
	c.MemoryLimit = 10
	c.Timeout = duration.Of(-1)
	c.HTTPTimeout = duration.Of(-1)
	c.MaxOutputBytes = -1
	c.Capabilities = []string{"log", "telepathy"}
	c.AllowedHosts = []string{"https://api.example.com/x"}
	c.OktaScope = policy.OktaScope{OktaGroups: []string{"admins"}}
	c.Limits.MaxLocals = -1
	c.KVQuota.KVMaxKeys = -1
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, key := range []string{"name", "pool_size", "memory_limit", "timeout", "http_timeout", "max_output_bytes", "capabilities", "allowed_hosts", "okta_groups", "max_locals", "kv_max_keys"} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, key+": ")
		}
		if !found {
			t.Errorf("no error names %s:\n%v", key, err)
		}
	}
	if !strings.Contains(err.Error(), `capabilities: unknown capability "telepathy" (known: log, config, kv, identity, http, okta)`) {
		t.Errorf("capability error: %v", err)
	}
}

// TestLoadTakesDefaultConfig: a hand-built Config that sets only name and
// path runs with DefaultConfig's limits, and Host.Load refuses a Config
// that does not Validate (with the same key-naming error).
func TestLoadTakesDefaultConfig(t *testing.T) {
	h := newHost(t, HostOptions{})
	p := load(t, h, Config{Name: "bare", Path: wasmPath("kitchen")})
	want := DefaultConfig()
	want.Name, want.Path = "bare", wasmPath("kitchen")
	if !reflect.DeepEqual(p.cfg, want) {
		t.Errorf("loaded with\n%+v\nwant DefaultConfig's\n%+v", p.cfg, want)
	}
	if cap(p.idle) != want.PoolSize {
		t.Errorf("pool of %d, want %d", cap(p.idle), want.PoolSize)
	}
	if want.Limits != modlimits.Default() || want.KVQuota != policy.DefaultKVQuota() {
		t.Errorf("DefaultConfig's module limits or kv quota are not their packages' defaults")
	}
	_, err := h.Load(context.Background(), Config{Name: "bad", Path: wasmPath("kitchen"), Capabilities: []string{"telepathy"}})
	if err == nil || !strings.Contains(err.Error(), `plugin bad (`) || !strings.Contains(err.Error(), `capabilities: unknown capability "telepathy"`) {
		t.Errorf("unknown capability: %v", err)
	}
}
