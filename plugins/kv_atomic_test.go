package plugins

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestKVIncrAcrossPool: N concurrent kv_incr calls spread over a pool of 4
// instances end at exactly N (a get-then-set counter loses updates here).
func TestKVIncrAcrossPool(t *testing.T) {
	st := openStore(t)
	h := newHost(t, HostOptions{KV: st})
	cfg := kitchenConfig("counter")
	cfg.PoolSize = 4
	p := load(t, h, cfg)
	const n = 64
	var wg sync.WaitGroup
	results := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Call(context.Background(), "provisioning", request("kvincr:hits", "a@example.com"))
			if err != nil {
				t.Error(err)
				return
			}
			if !res.Decision.Success {
				t.Error(res.Decision.Message)
			}
			results <- res.Decision.Message
		}()
	}
	wg.Wait()
	close(results)
	seen := map[string]bool{}
	for m := range results {
		if seen[m] {
			t.Errorf("two calls got the new value %s", m)
		}
		seen[m] = true
	}
	if v, err := st.KVGet("counter", "hits"); err != nil || string(v) != strconv.Itoa(n) {
		t.Fatalf("hits = %q, %v; want %d", v, err, n)
	}
	if res := call(t, p, "provisioning", "kvincr:hits+-10"); res.Decision.Message != strconv.Itoa(n-10) {
		t.Fatalf("incr by -10: %+v", res.Decision)
	}
	// A value that is not an integer is ERR_INVALID with a message.
	call(t, p, "provisioning", "kvset:text=abc")
	if res := call(t, p, "provisioning", "kvincr:text"); res.Decision.Success || !strings.Contains(res.Decision.Message, "not a decimal integer") {
		t.Fatalf("incr of text: %+v", res.Decision)
	}
}

func TestKVCompareAndSet(t *testing.T) {
	st := openStore(t)
	h := newHost(t, HostOptions{KV: st})
	p := load(t, h, kitchenConfig("cas"))
	for _, c := range []struct{ action, want string }{
		{"kvcas:k=>a", "true"},   // absent: created
		{"kvcas:k=>b", "false"},  // present: not created
		{"kvcas:k=x>b", "false"}, // wrong old value
		{"kvcas:k=a>b", "true"},
		{"kvget:k", "b"},
	} {
		if res := call(t, p, "provisioning", c.action); res.Decision.Message != c.want {
			t.Fatalf("%s: %+v, want %s", c.action, res.Decision, c.want)
		}
	}
	// Without the kv capability: ERR_CAPABILITY naming it.
	cfg := kitchenConfig("cas-nokv")
	cfg.Capabilities = []string{"log"}
	q := load(t, h, cfg)
	if res := call(t, q, "provisioning", "kvincr:k"); !strings.Contains(res.Decision.Message, `capability "kv" not granted`) {
		t.Fatalf("no kv cap: %+v", res.Decision)
	}
}

// TestDebugLinesOutsideTheBudget: with the host logging at info, a guest's
// debug lines are dropped before they count against the per-call budget,
// so the info line after 300 of them is kept; at debug they are kept (up to
// the budget).
func TestDebugLinesOutsideTheBudget(t *testing.T) {
	for _, c := range []struct {
		level     slog.Level
		wantDebug bool
	}{{slog.LevelInfo, false}, {slog.LevelDebug, true}} {
		h := newHost(t, HostOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: c.level}))})
		p := load(t, h, kitchenConfig("debug-"+strings.ToLower(c.level.String())))
		res := call(t, p, "provisioning", "debugflood")
		var debug, info int
		for _, l := range res.Logs {
			switch {
			case l.Level == slog.LevelDebug:
				debug++
			case l.Message == "after the debug lines":
				info++
			}
		}
		if c.wantDebug && debug == 0 || !c.wantDebug && (debug != 0 || info != 1) {
			t.Errorf("host at %v: %d debug lines, %d info lines kept", c.level, debug, info)
		}
	}
}
