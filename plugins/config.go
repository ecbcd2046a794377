package plugins

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hookgate/hookgate/internal/duration"
	"github.com/hookgate/hookgate/plugins/modlimits"
	"github.com/hookgate/hookgate/plugins/policy"
)

// Capabilities a plugin may be granted (the capabilities key of a
// [[plugin]] table). Each gates a family of host functions.
const (
	CapLog      = "log"
	CapConfig   = "config"
	CapKV       = "kv"
	CapIdentity = "identity"
	CapHTTP     = "http"
	CapOkta     = "okta"
)

// AllCapabilities lists every capability name, in documentation order.
var AllCapabilities = []string{CapLog, CapConfig, CapKV, CapIdentity, CapHTTP, CapOkta}

// Config is one plugin: a [[plugin]] table of gateway.toml (decoded by
// gateway/config, which resolves Path against the file's directory and
// fills zero limits from [plugins]) or a hand-built value (`hookgate plugin
// test`, tests). Zero limits take DefaultConfig's values; Host.Load fills
// them and refuses a Config that does not Validate.
type Config struct {
	// Name identifies the plugin in routes, logs, metrics and its kv
	// namespace: lower-case letters, digits, - and _.
	Name string `toml:"name"`
	// Path to the .wasm file.
	Path string `toml:"path"`
	// Config is what the guest reads with config_get (capability "config").
	Config map[string]string `toml:"config"`
	// PoolSize is how many instances serve calls at once. Default 4.
	PoolSize int `toml:"pool_size"`
	// Timeout is one call's deadline. Default 2s.
	Timeout duration.Duration `toml:"timeout"`
	// MemoryLimit caps an instance's memory in 64 KiB pages. Default 512
	// (32 MiB).
	MemoryLimit uint32 `toml:"memory_limit"`
	// AllowedHosts are the host or host:port values http_request may reach
	// (capability "http").
	AllowedHosts []string `toml:"allowed_hosts"`
	// Capabilities are the granted capability names (AllCapabilities).
	Capabilities []string `toml:"capabilities"`
	// HTTPTimeout bounds one outbound HTTP request. Default 5s.
	HTTPTimeout duration.Duration `toml:"http_timeout"`
	// MaxHTTPRequestBytes and MaxHTTPResponseBytes cap HTTP bodies.
	// Defaults 1 MiB and 4 MiB.
	MaxHTTPRequestBytes  int `toml:"max_http_request_bytes"`
	MaxHTTPResponseBytes int `toml:"max_http_response_bytes"`
	// MaxOutputBytes caps what one call may return. Default 1 MiB.
	MaxOutputBytes int `toml:"max_output_bytes"`
	// Limits bound what the module may declare, checked before it is
	// compiled (max_module_bytes, max_code_bytes, max_functions,
	// max_locals_per_function, max_locals, max_table_entries); defaults
	// modlimits.Default.
	modlimits.Limits
	// KVQuota caps the plugin's key/value namespace (kv_max_keys,
	// kv_max_bytes); defaults policy.DefaultKVQuota.
	policy.KVQuota
	// OktaScope (okta_groups, okta_apps): the groups and apps okta_action
	// may touch; empty allows none, ["*"] all.
	policy.OktaScope
}

// DefaultConfig returns the default limits, the one place they are
// written: [plugins] in gateway.toml starts from these, and a [[plugin]]
// table or hand-built Config takes them for every limit it leaves zero.
func DefaultConfig() Config {
	return Config{
		PoolSize:             4,
		Timeout:              duration.Of(2 * time.Second),
		MemoryLimit:          512,
		HTTPTimeout:          duration.Of(5 * time.Second),
		MaxHTTPRequestBytes:  1 << 20,
		MaxHTTPResponseBytes: 4 << 20,
		MaxOutputBytes:       1 << 20,
		Limits:               modlimits.Default(),
		KVQuota:              policy.DefaultKVQuota(),
	}
}

// Or returns c with every zero limit replaced by def's: pool
// size, timeouts, memory, HTTP and output caps, module limits and kv quota.
// Name, path, config, hosts, capabilities and Okta scope are c's.
func (c Config) Or(def Config) Config {
	if c.PoolSize == 0 {
		c.PoolSize = def.PoolSize
	}
	if c.Timeout.Duration == 0 {
		c.Timeout = def.Timeout
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = def.MemoryLimit
	}
	if c.HTTPTimeout.Duration == 0 {
		c.HTTPTimeout = def.HTTPTimeout
	}
	if c.MaxHTTPRequestBytes == 0 {
		c.MaxHTTPRequestBytes = def.MaxHTTPRequestBytes
	}
	if c.MaxHTTPResponseBytes == 0 {
		c.MaxHTTPResponseBytes = def.MaxHTTPResponseBytes
	}
	if c.MaxOutputBytes == 0 {
		c.MaxOutputBytes = def.MaxOutputBytes
	}
	c.Limits = c.Limits.Or(def.Limits)
	c.KVQuota = c.KVQuota.Or(def.KVQuota)
	return c
}

// Has reports whether the plugin was granted capability name.
func (c *Config) Has(name string) bool { return slices.Contains(c.Capabilities, name) }

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName reports whether s is a valid plugin name: 1 to 63 lower-case
// letters, digits, - or _, starting with a letter or digit.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// Validate checks c after defaults (see Or). Each error names its key
// relative to the plugin's table ("timeout: must be positive"); the loader
// of gateway.toml prefixes the table ("plugin[2] (crm).timeout: …"). The
// file at Path is not opened here (Host.Load reads it).
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if !ValidName(c.Name) {
		bad("name", "%q must be lower-case letters, digits, - or _", c.Name)
	}
	if c.Path == "" {
		bad("path", "required")
	}
	if c.PoolSize < 1 || c.PoolSize > 1024 {
		bad("pool_size", "must be 1..1024, got %d", c.PoolSize)
	}
	if c.MemoryLimit < 40 || c.MemoryLimit > 65536 {
		bad("memory_limit", "must be 40..65536 pages of 64 KiB (a Go plugin needs about 37 to start), got %d", c.MemoryLimit)
	}
	if c.Timeout.Duration <= 0 {
		bad("timeout", "must be positive")
	}
	if c.HTTPTimeout.Duration <= 0 {
		bad("http_timeout", "must be positive")
	}
	for key, v := range map[string]int{"max_http_request_bytes": c.MaxHTTPRequestBytes, "max_http_response_bytes": c.MaxHTTPResponseBytes, "max_output_bytes": c.MaxOutputBytes} {
		if v <= 0 {
			bad(key, "must be positive, got %d", v)
		}
	}
	for _, err := range []error{c.Limits.Validate(), c.KVQuota.Validate(), c.OktaScope.Validate()} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !c.OktaScope.Empty() && !c.Has(CapOkta) {
		bad("okta_groups", "okta_groups / okta_apps set but the plugin lacks the %q capability", CapOkta)
	}
	for _, cp := range c.Capabilities {
		if !slices.Contains(AllCapabilities, cp) {
			bad("capabilities", "unknown capability %q (known: %s)", cp, strings.Join(AllCapabilities, ", "))
		}
	}
	for _, h := range c.AllowedHosts {
		if h == "" || strings.Contains(h, "/") {
			bad("allowed_hosts", "%q must be a host or host:port, not a URL", h)
		}
	}
	if len(c.AllowedHosts) > 0 && !c.Has(CapHTTP) {
		bad("allowed_hosts", "set but the plugin lacks the %q capability", CapHTTP)
	}
	return errors.Join(errs...)
}
