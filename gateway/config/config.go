// Package config loads and validates gateway.toml. It is the one place the
// gateway's configuration is read: Load decodes strictly (an unknown key is an
// error naming the key), fills documented defaults, resolves secrets from the
// environment and validates every cross reference (routes and on_event
// entries name existing plugins, kinds are known, durations parse) before
// anything starts.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/internal/work"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/internal/duration"
	"github.com/hookgate/hookgate/plugins"
	"github.com/hookgate/hookgate/plugins/modlimits"
	"github.com/hookgate/hookgate/plugins/policy"
	"github.com/hookgate/hookgate/sdk/abi"
)

// Hook kinds the gateway serves under POST /hooks/{kind}.
const (
	KindProvisioning      = abi.KindProvisioning
	KindDeprovisioning    = abi.KindDeprovisioning
	KindPreApproval       = abi.KindPreApproval
	KindRequestValidation = abi.KindRequestValidation
)

// Kinds lists every inline hook kind, in documentation order.
var Kinds = abi.HookKinds

// Duration is a time.Duration written as a Go duration string ("2s", "5m").
type Duration = duration.Duration

// Config is the whole of gateway.toml after defaults and validation.
type Config struct {
	Server    Server                `toml:"server"`
	Log       Log                   `toml:"log"`
	Okta      Okta                  `toml:"okta"`
	Hooks     Hooks                 `toml:"hooks"`
	Admin     Admin                 `toml:"admin"`
	Plugins   PluginDefaults        `toml:"plugins"`
	Plugin    []Plugin              `toml:"plugin"`
	Route     []Route               `toml:"route"`
	Responses map[string]*Responses `toml:"responses"`
	OnEvent   []OnEvent             `toml:"on_event"`
	Queue     Queue                 `toml:"queue"`
	Grants    Grants                `toml:"grants"`
	Store     Store                 `toml:"store"`
	Cluster   Cluster               `toml:"cluster"`

	// Path is the file the config was loaded from. Relative plugin paths
	// (and TLS and cluster files) are resolved against its directory;
	// server.data_dir, and the default plugins.cache_dir under it, against
	// the working directory of `hookgate serve`.
	Path string `toml:"-"`

	// maxConnsPerIPSet: server.max_conns_per_ip was written (0 then means off).
	maxConnsPerIPSet bool
}

// Server holds the listener and store settings.
type Server struct {
	// Listen is the TCP address of the one fasthttp server. Default ":8080".
	Listen string `toml:"listen"`
	// DataDir is the Badger directory. Default "./data".
	DataDir string `toml:"data_dir"`
	// ReadTimeout and WriteTimeout bound one request. Defaults 10s and 20s.
	ReadTimeout  Duration `toml:"read_timeout"`
	WriteTimeout Duration `toml:"write_timeout"`
	// ShutdownTimeout bounds graceful shutdown. Default 15s.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// MaxConns caps the connections served at once (fasthttp's
	// Concurrency); one more is answered 503 and closed. Default 4096.
	MaxConns int `toml:"max_conns"`
	// MaxConnsPerIP caps the connections open from one client IP; one more
	// is answered 429 and closed. Default 1024; 0 turns the cap off (behind
	// a proxy or load balancer every connection comes from its address).
	MaxConnsPerIP int `toml:"max_conns_per_ip"`
	// MaxHeaderBytes caps the request line plus headers (fasthttp's
	// ReadBufferSize); larger is answered 431. Default 8192.
	MaxHeaderBytes int `toml:"max_header_bytes"`
	// IdleTimeout closes a keep-alive connection idle this long. Default 2m.
	IdleTimeout Duration `toml:"idle_timeout"`
	// TLSCertFile and TLSKeyFile (PEM; both or neither) make the listener
	// serve HTTPS (Okta only calls https:// URLs). Relative to the config
	// file's directory.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
}

// Store configures the embedded Badger store.
type Store struct {
	// EncryptionKeyEnv names the environment variable holding the master
	// key for encryption at rest: 32 bytes written as 64 hex digits or in
	// base64 (standard or URL alphabet, padded or not). Empty (the
	// default) keeps the store unencrypted. A store written with a key
	// opens only with that key: a wrong or missing key stops the start
	// with an error, and nothing in the data directory is changed.
	EncryptionKeyEnv string `toml:"encryption_key_env"`

	// EncryptionKey is the decoded key (nil when EncryptionKeyEnv is unset).
	EncryptionKey []byte `toml:"-"`
}

// DecodeEncryptionKey reads a 32-byte key written as 64 hex digits or in
// base64. The error never repeats the value.
func DecodeEncryptionKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("the key decodes (base64) to %d bytes, want 32 (AES-256); make one with `openssl rand -hex 32`", len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("the key is neither 64 hex digits nor base64 of 32 bytes (%d characters given); make one with `openssl rand -hex 32`", len(s))
}

// Log configures log/slog output.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `toml:"level"`
	// Format is text or json. Default text.
	Format string `toml:"format"`
}

// Okta is the [okta] table; the okta package owns its fields, defaults
// (okta.DefaultOptions) and checks (okta.Options.Validate, [okta.oauth]
// included).
type Okta = okta.Options

// OktaOAuth is the [okta.oauth] table.
type OktaOAuth = okta.OAuthOptions

// Hooks configures the inline access hook endpoints.
type Hooks struct {
	// AuthHeader is the header carrying the shared secret. Default "Authorization".
	AuthHeader string `toml:"auth_header"`
	// SecretEnv names the variable holding the secret. Default "HOOKGATE_HOOK_SECRET".
	SecretEnv string `toml:"secret_env"`
	// MaxBodyBytes caps a hook request. Default 1 MiB.
	MaxBodyBytes int `toml:"max_body_bytes"`
	// Timeout is the whole-request budget; Lumos waits 15 s. Default 10s.
	Timeout Duration `toml:"timeout"`
	// DurableAudit makes each reply wait until its audit record is
	// committed (a synced group commit shared by concurrent calls, a few
	// ms). Default false: records are committed by a background writer
	// right after the reply (gathered for up to 2 ms under load), so a
	// crash can lose the last few.
	DurableAudit bool `toml:"durable_audit"`

	Secret string `toml:"-"`
}

// DefaultHookTimeout is hooks.timeout's default, and MaxHookTimeout its
// ceiling (Lumos waits 15 s for an answer); the hook package owns them.
const (
	DefaultHookTimeout = hook.DefaultHookTimeout
	MaxHookTimeout     = hook.MaxHookTimeout
)

// Admin configures the /v1 admin API.
type Admin struct {
	// TokenEnv names the variable holding the bearer token. Default "HOOKGATE_ADMIN_TOKEN".
	TokenEnv string `toml:"token_env"`

	Token string `toml:"-"`
}

// PluginDefaults is the [plugins] table: the compilation cache and the
// limits every [[plugin]] takes when it does not set its own. A limit not
// set here is plugins.DefaultConfig's; the fields mean what
// plugins.Config's of the same name mean.
type PluginDefaults struct {
	// CacheDir holds wazero's compilation cache. Default "<data_dir>/wasm-cache".
	CacheDir             string   `toml:"cache_dir"`
	PoolSize             int      `toml:"pool_size"`
	Timeout              Duration `toml:"timeout"`
	MemoryLimit          uint32   `toml:"memory_limit"`
	HTTPTimeout          Duration `toml:"http_timeout"`
	MaxHTTPRequestBytes  int      `toml:"max_http_request_bytes"`
	MaxHTTPResponseBytes int      `toml:"max_http_response_bytes"`
	MaxOutputBytes       int      `toml:"max_output_bytes"`
	modlimits.Limits
	policy.KVQuota
}

// limits returns [plugins]'s limits as a plugins.Config (what Or takes).
func (d *PluginDefaults) limits() plugins.Config {
	return plugins.Config{
		PoolSize: d.PoolSize, Timeout: d.Timeout, MemoryLimit: d.MemoryLimit, HTTPTimeout: d.HTTPTimeout,
		MaxHTTPRequestBytes: d.MaxHTTPRequestBytes, MaxHTTPResponseBytes: d.MaxHTTPResponseBytes,
		MaxOutputBytes: d.MaxOutputBytes, Limits: d.Limits, KVQuota: d.KVQuota,
	}
}

// setLimits stores l's limits in [plugins].
func (d *PluginDefaults) setLimits(l plugins.Config) {
	d.PoolSize, d.Timeout, d.MemoryLimit, d.HTTPTimeout = l.PoolSize, l.Timeout, l.MemoryLimit, l.HTTPTimeout
	d.MaxHTTPRequestBytes, d.MaxHTTPResponseBytes, d.MaxOutputBytes = l.MaxHTTPRequestBytes, l.MaxHTTPResponseBytes, l.MaxOutputBytes
	d.Limits, d.KVQuota = l.Limits, l.KVQuota
}

// Plugin is one [[plugin]] table; the plugins package owns its fields,
// defaults (plugins.DefaultConfig) and checks (plugins.Config.Validate).
type Plugin = plugins.Config

// Route is one [[route]] table; the hook package owns its fields.
type Route = hook.Route

// Responses is one [responses.<kind>] table; the hook package owns its
// fields and defaults (hook.DefaultResponses).
type Responses = hook.Responses

// OnEvent is one [[on_event]] table; the durable work package owns its
// fields and Matches (work.OnEvent).
type OnEvent = work.OnEvent

// Queue is the [queue] table (work.QueueOptions).
type Queue = work.QueueOptions

// DefaultGrantScanInterval is grants.scan_interval's default.
const DefaultGrantScanInterval = work.DefaultGrantScanInterval

// Grants is the [grants] table (work.GrantOptions).
type Grants = work.GrantOptions

// DefaultResponses is the response contract table (hook.DefaultResponses).
func DefaultResponses() map[string]Responses { return hook.DefaultResponses() }

// Overrides are command-line values that win over the file.
type Overrides struct {
	Listen  string
	DataDir string
	// NodeID, RaftAddr and Peers override [cluster] node_id, raft_addr and
	// peers (--node-id, --raft-addr, --peers), so several nodes can run
	// from one gateway.toml.
	NodeID   string
	RaftAddr string
	Peers    []string
	// Offline loads the file for a command that neither serves nor runs
	// plugins (`hookgate okta check`, `hookgate okta sync`): every key is
	// still decoded strictly and validated, but the serving secrets
	// (okta.secret_env, hooks.secret_env, admin.token_env) may be unset,
	// plugin .wasm files need not exist and unset ${ENV} references in
	// plugin config expand to "" instead of failing. Never use it to serve.
	Offline bool
}

// Load reads, defaults, resolves and validates the config at path. The
// returned error names the offending key.
func Load(path string, ov Overrides) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b, filepath.Dir(path), ov)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Parse is Load on bytes; baseDir resolves relative paths.
func Parse(b []byte, baseDir string, ov Overrides) (*Config, error) {
	var c Config
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return nil, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	if ov.Listen != "" {
		c.Server.Listen = ov.Listen
	}
	if ov.DataDir != "" {
		c.Server.DataDir = ov.DataDir
	}
	c.maxConnsPerIPSet = md.IsDefined("server", "max_conns_per_ip")
	if ov.NodeID != "" {
		c.Cluster.NodeID = ov.NodeID
	}
	if ov.RaftAddr != "" {
		c.Cluster.RaftAddr = ov.RaftAddr
	}
	if len(ov.Peers) > 0 {
		c.Cluster.Peers = ov.Peers
	}
	c.defaults(baseDir)
	if !md.IsDefined("okta", "catchup_interval") {
		// Only when absent: an explicit "0s" disables periodic catch-up.
		c.Okta.CatchupInterval = okta.DefaultOptions().CatchupInterval
	}
	// Every problem at once: bad values and missing secrets together.
	if err := errors.Join(c.validate(ov.Offline), c.resolveSecrets(ov.Offline)); err != nil {
		return nil, err
	}
	if !ov.Offline {
		if err := c.checkSecretsDistinct(); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// MinSecretLength is the length below which a serving secret draws a
// warning (SecretWarnings): 16 characters.
const MinSecretLength = 16

// servingSecrets lists the three serving secrets with their config key and
// environment variable, in a fixed order.
func (c *Config) servingSecrets() []struct{ key, env, value string } {
	return []struct{ key, env, value string }{
		{"okta.secret_env", c.Okta.SecretEnv, c.Okta.Secret},
		{"hooks.secret_env", c.Hooks.SecretEnv, c.Hooks.Secret},
		{"admin.token_env", c.Admin.TokenEnv, c.Admin.Token},
	}
}

// checkSecretsDistinct refuses two serving secrets with the same value: a
// caller holding one (Okta's hook secret, a Lumos hook secret) must never
// be able to use it as another (the admin token).
func (c *Config) checkSecretsDistinct() error {
	var errs []error
	s := c.servingSecrets()
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[i].value != "" && s[i].value == s[j].value {
				errs = append(errs, fmt.Errorf("%s (%s) and %s (%s) hold the same value: each secret must be different, so that whoever holds one cannot use it as the other", s[i].key, s[i].env, s[j].key, s[j].env))
			}
		}
	}
	return errors.Join(errs...)
}

// SecretWarnings returns one line per weak serving secret that is set: one
// shorter than MinSecretLength characters, or (offline, where Load does
// not refuse them) two equal ones. `hookgate serve` logs them at WARN and
// `hookgate okta check` prints them as hints.
func (c *Config) SecretWarnings() []string {
	var out []string
	for _, s := range c.servingSecrets() {
		if s.value != "" && len(s.value) < MinSecretLength {
			out = append(out, fmt.Sprintf("%s: the secret in %s is %d characters long; use at least %d random characters (e.g. `openssl rand -hex 32`)", s.key, s.env, len(s.value), MinSecretLength))
		}
	}
	if err := c.checkSecretsDistinct(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			out = append(out, line+" (hookgate serve refuses to start)")
		}
	}
	return out
}

func setDur(d *Duration, def time.Duration) {
	if d.Duration == 0 {
		d.Duration = def
	}
}

func setInt(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

func setStr(v *string, def string) {
	if *v == "" {
		*v = def
	}
}

func (c *Config) defaults(baseDir string) {
	s := &c.Server
	setStr(&s.Listen, ":8080")
	setStr(&s.DataDir, "./data")
	setDur(&s.ReadTimeout, 10*time.Second)
	setDur(&s.WriteTimeout, 20*time.Second)
	setDur(&s.ShutdownTimeout, 15*time.Second)
	setInt(&s.MaxConns, 4096)
	setInt(&s.MaxHeaderBytes, 8192)
	setDur(&s.IdleTimeout, 2*time.Minute)
	if s.MaxConnsPerIP == 0 && !c.maxConnsPerIPSet {
		s.MaxConnsPerIP = 1024
	}
	for _, f := range []*string{&s.TLSCertFile, &s.TLSKeyFile} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(baseDir, *f)
		}
	}
	c.Cluster.defaults(baseDir)
	setStr(&c.Log.Level, "info")
	setStr(&c.Log.Format, "text")

	c.Okta = c.Okta.Or(okta.DefaultOptions())
	if v := os.Getenv("HOOKGATE_OKTA_ORG_URL"); v != "" {
		c.Okta.OrgURL = v
	}

	h := &c.Hooks
	setStr(&h.AuthHeader, "Authorization")
	setStr(&h.SecretEnv, "HOOKGATE_HOOK_SECRET")
	setInt(&h.MaxBodyBytes, 1<<20)
	setDur(&h.Timeout, DefaultHookTimeout)
	setStr(&c.Admin.TokenEnv, "HOOKGATE_ADMIN_TOKEN")

	pd := &c.Plugins
	setStr(&pd.CacheDir, filepath.Join(c.Server.DataDir, "wasm-cache"))
	pd.setLimits(pd.limits().Or(plugins.DefaultConfig()))
	for i := range c.Plugin {
		p := &c.Plugin[i]
		if p.Path != "" && !filepath.IsAbs(p.Path) {
			p.Path = filepath.Join(baseDir, p.Path)
		}
		*p = p.Or(pd.limits())
		if p.Config == nil {
			p.Config = map[string]string{}
		}
	}

	full := DefaultResponses()
	if c.Responses == nil {
		c.Responses = map[string]*Responses{}
	}
	for k, def := range full {
		r := c.Responses[k]
		if r == nil {
			d := def
			c.Responses[k] = &d
			continue
		}
		setStr(&r.Success, def.Success)
		setStr(&r.Failure, def.Failure)
	}

	q := &c.Queue
	setInt(&q.Workers, 4)
	setInt(&q.MaxAttempts, 8)
	setDur(&q.InitialBackoff, time.Second)
	setDur(&q.MaxBackoff, 5*time.Minute)
	setDur(&c.Grants.ScanInterval, DefaultGrantScanInterval)
}

var (
	nodeIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	envName       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// under prefixes each error err joins (errors.Join) with prefix: a
// package's Validate names keys relative to its table, the file names them
// in full ("plugin[2] (crm).timeout: …").
func under(prefix string, err error) []error {
	if err == nil {
		return nil
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	out := make([]error, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Errorf("%s%w", prefix, e))
	}
	return out
}

func (c *Config) validate(offline bool) error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.Server.MaxConns < 1 || c.Server.MaxConns > 1<<20 {
		bad("server.max_conns", "must be 1..1048576, got %d", c.Server.MaxConns)
	}
	if c.Server.MaxConnsPerIP < 0 {
		bad("server.max_conns_per_ip", "must be 0 (no cap) or positive, got %d", c.Server.MaxConnsPerIP)
	}
	if c.Server.MaxHeaderBytes < 1024 || c.Server.MaxHeaderBytes > 1<<20 {
		bad("server.max_header_bytes", "must be 1024..1048576, got %d", c.Server.MaxHeaderBytes)
	}
	if c.Server.IdleTimeout.Duration < 0 {
		bad("server.idle_timeout", "must not be negative")
	}
	if !contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if !contains([]string{"text", "json"}, c.Log.Format) {
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	errs = append(errs, under("okta.", c.Okta.Validate())...)
	if strings.HasPrefix(c.Okta.Path, "/v1/") || strings.HasPrefix(c.Okta.Path, "/hooks/") {
		bad("okta.path", "%q collides with the admin or hook endpoints", c.Okta.Path)
	}
	for key, v := range map[string]string{"hooks.secret_env": c.Hooks.SecretEnv, "admin.token_env": c.Admin.TokenEnv} {
		if !envName.MatchString(v) {
			bad(key, "%q is not an environment variable name", v)
		}
	}
	if c.Hooks.MaxBodyBytes < 0 {
		bad("hooks.max_body_bytes", "must be positive, got %d", c.Hooks.MaxBodyBytes)
	}
	if v := c.Store.EncryptionKeyEnv; v != "" && !envName.MatchString(v) {
		bad("store.encryption_key_env", "%q is not an environment variable name", v)
	}
	if c.Hooks.Timeout.Duration > MaxHookTimeout {
		bad("hooks.timeout", "%s leaves no margin inside Lumos' 15s budget (max %s)", c.Hooks.Timeout, MaxHookTimeout)
	}

	errs = append(errs, under("plugins.", c.Plugins.Limits.Validate())...)
	errs = append(errs, under("plugins.", c.Plugins.KVQuota.Validate())...)
	byName := map[string]*Plugin{}
	for i := range c.Plugin {
		p := &c.Plugin[i]
		key := fmt.Sprintf("plugin[%d]", i)
		if p.Name != "" {
			key = fmt.Sprintf("plugin[%d] (%s)", i, p.Name)
		}
		errs = append(errs, under(key+".", p.Validate())...)
		if byName[p.Name] != nil && plugins.ValidName(p.Name) {
			bad(key+".name", "duplicate plugin name %q", p.Name)
		}
		byName[p.Name] = p
		if p.Path == "" || offline {
			// Required (Validate); not loaded by offline commands.
		} else if st, err := os.Stat(p.Path); err != nil {
			bad(key+".path", "%v (run `make plugins` to build the examples)", err)
		} else if st.IsDir() {
			bad(key+".path", "%s is a directory, want a .wasm file", p.Path)
		}
	}

	seen := map[string]int{}
	for i, r := range c.Route {
		key := fmt.Sprintf("route[%d]", i)
		if !contains(Kinds, r.Kind) {
			bad(key+".kind", "%q is not one of %s", r.Kind, strings.Join(Kinds, ", "))
		}
		if byName[r.Plugin] == nil {
			bad(key+".plugin", "no [[plugin]] named %q", r.Plugin)
		}
		if r.AppID == "" && (r.Permission != "" || r.InstanceID != "") {
			bad(key+".app_id", "required when permission or instance_id is set")
		}
		id := r.Kind + "\x00" + r.AppID + "\x00" + r.InstanceID + "\x00" + r.Permission
		if j, dup := seen[id]; dup {
			bad(key, "matches exactly what route[%d] matches", j)
		}
		seen[id] = i
	}
	for k, r := range c.Responses {
		key := "responses." + k
		if !contains(Kinds, k) {
			bad(key, "unknown hook kind %q", k)
			continue
		}
		if r.Use204 && k != KindProvisioning && k != KindDeprovisioning {
			bad(key+".use_204", "only provisioning and deprovisioning accept an HTTP 204")
		}
	}
	for i, o := range c.OnEvent {
		key := fmt.Sprintf("on_event[%d]", i)
		if len(o.Types) == 0 {
			bad(key+".types", "required (e.g. [\"user.lifecycle.deactivate\"] or [\"group.*\"])")
		}
		for _, t := range o.Types {
			if t == "" || strings.Contains(strings.TrimSuffix(t, "*"), "*") {
				bad(key+".types", "%q: a pattern is an exact type or a prefix ending in *", t)
			}
		}
		if byName[o.Plugin] == nil {
			bad(key+".plugin", "no [[plugin]] named %q", o.Plugin)
		}
	}
	c.Server.validateTLS(offline, bad)
	c.Cluster.validate(offline, bad)
	if c.Queue.Workers < 1 || c.Queue.Workers > 256 {
		bad("queue.workers", "must be 1..256, got %d", c.Queue.Workers)
	}
	if c.Queue.MaxAttempts < 1 {
		bad("queue.max_attempts", "must be at least 1")
	}
	if c.Queue.MaxBackoff.Duration < c.Queue.InitialBackoff.Duration {
		bad("queue.max_backoff", "smaller than queue.initial_backoff")
	}
	return errors.Join(errs...)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func (c *Config) resolveSecrets(offline bool) error {
	var errs []error
	need := func(key, env string) string {
		v := os.Getenv(env)
		if v == "" && !offline {
			errs = append(errs, fmt.Errorf("%s: environment variable %s is not set (it holds the secret)", key, env))
		}
		return v
	}
	c.Okta.Secret = need("okta.secret_env", c.Okta.SecretEnv)
	c.Hooks.Secret = need("hooks.secret_env", c.Hooks.SecretEnv)
	c.Admin.Token = need("admin.token_env", c.Admin.TokenEnv)
	if env := c.Store.EncryptionKeyEnv; env != "" {
		// Needed offline too: `hookgate okta sync --data` opens the store.
		v := os.Getenv(env)
		if v == "" {
			errs = append(errs, fmt.Errorf("store.encryption_key_env: environment variable %s is not set (it holds the store's encryption key; without it the encrypted store cannot be read)", env))
		} else if key, err := DecodeEncryptionKey(v); err != nil {
			errs = append(errs, fmt.Errorf("store.encryption_key_env: %s: %w", env, err))
		} else {
			c.Store.EncryptionKey = key
		}
	}
	for i := range c.Plugin {
		p := &c.Plugin[i]
		keys := make([]string, 0, len(p.Config))
		for k := range p.Config {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := p.Config[k]
			var missing []string
			p.Config[k] = envRef.ReplaceAllStringFunc(v, func(m string) string {
				name := envRef.FindStringSubmatch(m)[1]
				val, ok := os.LookupEnv(name)
				if !ok {
					missing = append(missing, name)
				}
				return val
			})
			for _, name := range missing {
				if offline {
					break
				}
				errs = append(errs, fmt.Errorf("plugin[%d] (%s).config.%s: environment variable %s is not set", i, p.Name, k, name))
			}
		}
	}
	return errors.Join(errs...)
}

// PluginByName returns the named [[plugin]] or nil.
func (c *Config) PluginByName(name string) *Plugin {
	for i := range c.Plugin {
		if c.Plugin[i].Name == name {
			return &c.Plugin[i]
		}
	}
	return nil
}
