// Package plugins is hookgate's WebAssembly plugin host. A Host compiles
// each plugin's .wasm once (wazero's compiler engine with an on-disk
// compilation cache shared by all plugins), keeps a pool of ready instances
// per plugin, and runs calls on them under the plugin's limits: a timeout
// (the instance is closed when the context ends), a memory limit (pages), an
// output size cap, and capabilities gating the host functions (config, kv,
// identity, http, okta). An instance that traps, times out or runs out of memory
// is discarded and replaced in the background; the caller gets an error
// matching one of the Err* values and the host keeps serving.
//
// The host/guest contract is ABI v1, written down in sdk/ABI.md; the Go
// guest library is github.com/hookgate/hookgate/sdk.
package plugins

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/hookgate/hookgate/store"
)

// Identity is the live identity state plugins read (capability
// "identity"). *store.Store implements it. Lookups return an error wrapping
// store.ErrNotFound for unknown ids.
type Identity interface {
	// LookupUser finds a user by id, login or email (email falls back to
	// login).
	LookupUser(ref string) (*store.User, error)
	// UserByID, UserByLogin and UserByEmail look up by one field; email
	// falls back to login.
	UserByID(id string) (*store.User, error)
	UserByLogin(login string) (*store.User, error)
	UserByEmail(email string) (*store.User, error)
	// Group returns a group by id; LookupGroup by id or name.
	Group(id string) (*store.Group, error)
	LookupGroup(ref string) (*store.Group, error)
	// IsMember reports membership; unknown users or groups are not
	// members.
	IsMember(userRef, groupRef string) (bool, error)
	// UserWithGroups and GroupWithMembers read an entity and its related
	// records from one snapshot (user_groups, group_members).
	UserWithGroups(ref string) (*store.User, []store.Group, error)
	GroupWithMembers(ref string) (*store.Group, []store.User, error)
}

// KV is the per-plugin key/value state (capability "kv"). *store.Store
// implements it; Get returns an error wrapping store.ErrNotFound for a
// missing key.
type KV interface {
	KVGet(plugin, key string) ([]byte, error)
	KVSet(plugin, key string, value []byte, ttl time.Duration) error
	KVDelete(plugin, key string) error
	// KVIncr and KVCompareAndSet are atomic read-modify-writes (kv_incr,
	// kv_compare_and_set); KVIncr fails with an error wrapping
	// store.ErrKVNotInteger for a value that is not a decimal int64.
	KVIncr(plugin, key string, delta int64, ttl time.Duration) (int64, error)
	KVCompareAndSet(plugin, key string, old []byte, oldPresent bool, value []byte, ttl time.Duration) (bool, error)
}

// HostOptions configures NewHost.
type HostOptions struct {
	// CacheDir holds wazero's compilation cache (created if missing). Empty
	// keeps compiled code in memory only.
	CacheDir string
	// Logger receives plugin logs (with a "plugin" attribute) and host
	// events. Default slog.Default().
	Logger *slog.Logger
	// Identity backs the identity host functions; nil makes them fail with
	// ERR_UNAVAILABLE.
	Identity Identity
	// KV backs the kv host functions; nil makes them fail with
	// ERR_UNAVAILABLE.
	KV KV
	// Okta backs okta_action (capability "okta"); nil makes it fail with
	// ERR_UNAVAILABLE saying no Okta org is configured.
	Okta OktaActions
}

// Host loads and runs plugins. Create one per process with NewHost; it is
// safe for concurrent use.
type Host struct {
	opts  HostOptions
	log   *slog.Logger
	cache wazero.CompilationCache

	mu      sync.Mutex
	closed  bool
	plugins map[*Plugin]struct{}

	// compiling holds one *sync.Mutex per module (sha256 of the code
	// compiled): see compileLock.
	compiling sync.Map
}

// compileLock returns the lock under which this host compiles code.
// Runtimes sharing one compilation cache must not compile the same module
// at the same time: wazero (v1.12.0, issue #2547) publishes a module read
// from the file cache before its entry preambles are compiled, and a
// concurrent instantiation of it panics in moduleEngine.NewFunction. Two
// [[plugin]] tables naming one .wasm file, loaded in parallel, do exactly
// that. Different modules still compile in parallel.
func (h *Host) compileLock(code []byte) *sync.Mutex {
	m, _ := h.compiling.LoadOrStore(sha256.Sum256(code), new(sync.Mutex))
	return m.(*sync.Mutex)
}

// NewHost creates the host and its compilation cache.
func NewHost(ctx context.Context, opts HostOptions) (*Host, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Host{opts: opts, log: opts.Logger, plugins: map[*Plugin]struct{}{}}
	if opts.CacheDir == "" {
		h.cache = wazero.NewCompilationCache()
	} else {
		if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("plugins: compilation cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("plugins: compilation cache %s: %w", opts.CacheDir, err)
		}
		h.cache = c
	}
	return h, nil
}

// Load compiles cfg.Path (through the cache), checks it implements ABI v1
// with only known imports, and fills its instance pool (cfg.PoolSize
// instances, created now). Zero limits in cfg take DefaultConfig's values,
// and a cfg that then fails Validate is refused. Errors name the plugin and
// file and wrap ErrABIVersion or ErrBadModule where they apply.
func (h *Host) Load(ctx context.Context, cfg Config) (*Plugin, error) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("plugin %s: host: %w", cfg.Name, ErrClosed)
	}
	p, err := newPlugin(ctx, h, cfg)
	if err != nil {
		return nil, err
	}
	if qs, ok := h.opts.KV.(KVQuotaSetter); ok {
		qs.SetKVQuota(p.cfg.Name, store.KVQuota{MaxKeys: p.cfg.KVMaxKeys, MaxBytes: p.cfg.KVMaxBytes})
	}
	if p.caps&capOkta != 0 && p.cfg.OktaScope.Empty() {
		p.log.Warn("plugin has the okta capability but empty okta_groups and okta_apps: every okta_action will be refused (list ids or names, or [\"*\"] to allow all)")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		p.Close()
		return nil, fmt.Errorf("plugin %s: host: %w", cfg.Name, ErrClosed)
	}
	h.plugins[p] = struct{}{}
	return p, nil
}

func (h *Host) forget(p *Plugin) {
	h.mu.Lock()
	delete(h.plugins, p)
	h.mu.Unlock()
}

// Close closes every plugin still loaded (waiting for their calls in
// flight) and then the compilation cache.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	ps := make([]*Plugin, 0, len(h.plugins))
	for p := range h.plugins {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Close())
	}
	errs = append(errs, h.cache.Close(context.Background()))
	return errors.Join(errs...)
}

// KVQuotaSetter is implemented by a KV backend that enforces per-plugin
// quotas (*store.Store does); Load hands it each plugin's kv_max_keys and
// kv_max_bytes.
type KVQuotaSetter interface {
	SetKVQuota(plugin string, q store.KVQuota)
}
