package plugins

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestSameModuleLoadedConcurrently: several plugins of one .wasm file
// loaded at once by a fresh host over a warm compilation cache (a gateway
// start or reload with two [[plugin]] tables naming one file) all load and
// answer. Without Host.compileLock wazero can panic in
// moduleEngine.NewFunction (wazero issue #2547; seen once in a gateway
// test run). The window is narrow: this test did not hit it in 40 rounds
// without the lock, so it guards the concurrent path rather than proving
// the race.
func TestSameModuleLoadedConcurrently(t *testing.T) {
	dir := t.TempDir()
	warm := newHost(t, HostOptions{CacheDir: dir})
	cfg := kitchenConfig("warm")
	cfg.PoolSize = 1
	load(t, warm, cfg)
	if err := warm.Close(); err != nil {
		t.Fatal(err)
	}
	h := newHost(t, HostOptions{CacheDir: dir})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	ps := make([]*Plugin, len(errs))
	for i := range errs {
		wg.Go(func() {
			// Staggered, so that some compile while another has
			// just published the module.
			time.Sleep(time.Duration(i) * 300 * time.Microsecond)
			c := kitchenConfig(fmt.Sprintf("same-%d", i))
			c.PoolSize = 1
			ps[i], errs[i] = h.Load(context.Background(), c)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("plugin %d: %v", i, err)
		}
		if res := call(t, ps[i], "provisioning", "echo"); res == nil {
			t.Fatalf("plugin %d: no result", i)
		}
	}
	h.Close()
}
