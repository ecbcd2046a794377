package store

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// readCache memoizes the identity reads plugins make on every inline hook
// (LookupUser, IsMember) between identity writes. Each read resolves
// logins through Badger index iterators and decodes records, tens of
// microseconds; a cached answer is a map lookup.
//
// Consistency: every identity op (ApplyLocal) bumps gen after its commit and before it
// returns, so once a write is acknowledged (Okta's 200 is sent after
// the op returns) no read can be answered from an entry made before it. An
// entry is tagged with the generation read before its transaction
// started, so an entry computed concurrently with a write is already stale
// when the write's bump lands. Reads racing an unacknowledged write may
// see either state, as they may without the cache.
type readCache struct {
	gen atomic.Uint64
	mu  sync.RWMutex
	m   map[cacheKey]cacheEntry
}

// maxCacheEntries bounds the cache; past it the map starts over.
const maxCacheEntries = 1 << 16

type cacheKey struct {
	op   byte // 'u' LookupUser(a), 'm' IsMember(a, b)
	a, b string
}

type cacheEntry struct {
	gen    uint64
	user   *User // LookupUser; nil with err set
	member bool
	err    error
}

// get returns the entry for k if it was made at the current generation.
func (c *readCache) get(k cacheKey) (cacheEntry, bool) {
	gen := c.gen.Load()
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	return e, ok && e.gen == gen
}

// put stores e, which must carry the generation loaded before its read.
func (c *readCache) put(k cacheKey, e cacheEntry) {
	if e.gen != c.gen.Load() {
		return // a write landed meanwhile: the result may already be stale
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCacheEntries {
		c.m = make(map[cacheKey]cacheEntry, 1024)
	}
	c.m[k] = e
	c.mu.Unlock()
}

// invalidate makes every entry stale; ApplyLocal calls it after each commit.
func (c *readCache) invalidate() { c.gen.Add(1) }

// clone returns a copy the caller may modify.
func (u *User) clone() *User {
	c := *u
	c.Groups = slices.Clone(u.Groups)
	c.Apps = slices.Clone(u.Apps)
	c.Profile = maps.Clone(u.Profile)
	c.ProfileTypes = maps.Clone(u.ProfileTypes)
	c.AdminRoles = slices.Clone(u.AdminRoles)
	if u.Status != nil {
		s := *u.Status
		c.Status = &s
	}
	return &c
}
