package plugins

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/internal/duration"
	"github.com/hookgate/hookgate/plugins/modlimits"
)

// Hand-written hostile modules (testdata/wat, see its README) against the
// sandbox: work is bounded by fuel charged per byte of bulk instructions,
// a result after the deadline is a timeout, tables are capped, and module
// limits are checked before compilation.

// watConfig is a [[plugin]] for testdata/wat/<name>.wat.
func watConfig(t *testing.T, name string, timeout time.Duration) Config {
	return Config{
		Name:        name,
		Path:        watPath(t, name),
		PoolSize:    1,
		Timeout:     duration.Of(timeout),
		MemoryLimit: 512,
	}
}

// figures are what measure saw while a hostile call ran.
type figures struct {
	elapsed   time.Duration // the call
	peakRSS   int64         // process RSS, sampled every 2 ms
	baseRSS   int64         // RSS before the call
	worstBeat time.Duration // longest gap of a goroutine sleeping 1 ms at a time
	worstGC   time.Duration // longest runtime.GC() run by another goroutine
	gcs       int
}

func (f figures) String() string {
	return "answered in " + f.elapsed.Round(time.Millisecond).String() +
		", peak RSS " + strconv.FormatInt(f.peakRSS>>20, 10) + " MiB (" + strconv.FormatInt(f.baseRSS>>20, 10) + " MiB before)" +
		", worst heartbeat gap " + f.worstBeat.Round(100*time.Microsecond).String() +
		", worst GC " + f.worstGC.Round(100*time.Microsecond).String() + " of " + strconv.Itoa(f.gcs)
}

// rss is the process's resident set in bytes.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// measure runs fn while a heartbeat goroutine, a goroutine forcing
// garbage collections and an RSS sampler run beside it.
func measure(fn func()) figures {
	runtime.GC()
	f := figures{baseRSS: rss()}
	f.peakRSS = f.baseRSS
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			default:
			}
			time.Sleep(time.Millisecond)
			now := time.Now()
			f.worstBeat = max(f.worstBeat, now.Sub(last))
			last = now
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			start := time.Now()
			runtime.GC()
			f.worstGC = max(f.worstGC, time.Since(start))
			f.gcs++
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			f.peakRSS = max(f.peakRSS, rss())
		}
	}()
	start := time.Now()
	fn()
	f.elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	return f
}

// Generous bounds that catch the failures (a call running for minutes, a
// process frozen for seconds); the measured figures are logged.
const (
	maxBeat = 250 * time.Millisecond
	hostile = 200 * time.Millisecond // the hostile plugins' timeout
)

// runHostile calls the plugin once under measure and checks the call is
// answered as a timeout within a small multiple of its timeout while the
// rest of the process keeps running.
func runHostile(t *testing.T, name string) {
	p := load(t, newHost(t, HostOptions{}), watConfig(t, name, hostile))
	if !p.fuel {
		t.Fatal("not instrumented")
	}
	var err error
	idle := measure(func() { time.Sleep(hostile) }) // the same span with no call: the baseline
	f := measure(func() {
		_, err = p.Call(context.Background(), "pre_approval", request("x", "a@example.com"))
	})
	t.Logf("%s (timeout %s): %v; %s", name, hostile, err, f)
	t.Logf("baseline, %s with no call: %s", hostile, idle)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if f.elapsed > 5*hostile {
		t.Errorf("answered after %s, more than 5x its %s timeout", f.elapsed, hostile)
	}
	if f.worstBeat > maxBeat || f.worstGC > maxBeat {
		t.Errorf("the process stalled while the guest ran: %s", f)
	}
	waitReplaced(t, p)
}

// waitReplaced waits until the discarded instance was replaced.
func waitReplaced(t *testing.T, p *Plugin) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s := p.Stats(); s.Replaced < 1 || s.Idle != s.PoolSize; s = p.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: the instance was not replaced", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBulkFillLoopTimesOut: one 16 MiB memory.fill per loop iteration ran
// 16k iterations between two yields when fuel counted only loop headers
// (a 500 ms timeout answered after 13.7 s).
func TestBulkFillLoopTimesOut(t *testing.T) { runHostile(t, "bulkfill") }

// TestBulkLoopTimesOut: an endless loop of memory.copy and table.fill.
func TestBulkLoopTimesOut(t *testing.T) { runHostile(t, "bulkloop") }

// TestLateResultIsTimeout: a guest whose answer comes back after its
// deadline is a timeout, and its instance is replaced. The guest asks
// WASI for a 1 s sleep, which the host cuts at the call's deadline; it
// then returns at once, after the deadline. (Under heavy load the guest
// may reach the sleep after its deadline, which is a plain timeout; the
// test retries until the late path is taken.)
func TestLateResultIsTimeout(t *testing.T) {
	const timeout = 5 * time.Millisecond
	p := load(t, newHost(t, HostOptions{}), watConfig(t, "late", timeout))
	for attempt := 1; ; attempt++ {
		start := time.Now()
		res, err := p.Call(context.Background(), "pre_approval", request("x", "a@example.com"))
		took := time.Since(start)
		t.Logf("late (timeout %s), attempt %d: %v after %s", timeout, attempt, err, took)
		if !errors.Is(err, ErrTimeout) || res.Decision.Success {
			t.Fatalf("err %v, decision %+v: want ErrTimeout", err, res.Decision)
		}
		if took > time.Second {
			t.Errorf("answered after %s: the 1 s sleep was not cut at the deadline", took)
		}
		waitReplaced(t, p)
		if strings.Contains(err.Error(), "returned after the deadline") {
			return
		}
		if attempt == 5 {
			t.Fatal("the guest never returned after its deadline in 5 attempts")
		}
	}
}

// TestTableGrowBombCapped: table.grow asks for 512 MiB of host memory in
// 16 MiB steps; every table is capped at max_table_entries, so the grows
// fail (-1, which the guest reports as success) and RSS stays put.
func TestTableGrowBombCapped(t *testing.T) {
	p := load(t, newHost(t, HostOptions{}), watConfig(t, "tablegrow", 2*time.Second))
	if p.tablePages != uint32(modlimits.Default().MaxTableEntries*8/65536) {
		t.Errorf("tablePages %d: want the capped table (%d entries) reserved out of memory_limit", p.tablePages, modlimits.Default().MaxTableEntries)
	}
	var (
		res *Result
		err error
	)
	f := measure(func() {
		res, err = p.Call(context.Background(), "pre_approval", request("x", "a@example.com"))
	})
	t.Logf("tablegrow: %v %+v; %s", err, res.Decision, f)
	if err != nil || !res.Decision.Success {
		t.Fatalf("err %v, decision %+v: want every grow past max_table_entries refused", err, res.Decision)
	}
	if grew := f.peakRSS - f.baseRSS; grew > 64<<20 {
		t.Errorf("RSS grew by %d MiB during the call", grew>>20)
	}
	if f.elapsed > time.Second {
		t.Errorf("took %s", f.elapsed)
	}
}

// TestTableLimit: a table that starts over max_table_entries is refused
// at load, naming the limit and the value; raising the limit admits it.
func TestTableLimit(t *testing.T) {
	h := newHost(t, HostOptions{})
	cfg := watConfig(t, "tablebig", time.Second)
	_, err := h.Load(context.Background(), cfg)
	if !errors.Is(err, ErrBadModule) || !errors.Is(err, modlimits.ErrLimit) ||
		!strings.Contains(err.Error(), "max_table_entries is 131072") || !strings.Contains(err.Error(), "1048576 entries") {
		t.Fatalf("err %v, want ErrBadModule naming max_table_entries and the table's size", err)
	}
	cfg.MaxTableEntries = 1 << 21
	p := load(t, h, cfg)
	if p.tablePages != 128 { // 2^20 entries (no table.grow) * 8 bytes
		t.Errorf("tablePages %d, want 128", p.tablePages)
	}
	call := func() error {
		_, err := p.Call(context.Background(), "pre_approval", request("x", "a@example.com"))
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	// The table's pages come out of memory_limit.
	cfg.Name, cfg.MemoryLimit = "tablebig-small", 128
	if _, err := h.Load(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "memory_limit (128 pages)") {
		t.Fatalf("err %v, want the table's 128 pages refused against memory_limit 128", err)
	}
}

// localsModule is a module of funcs functions () -> (), each declaring
// locals i32 locals in one run-length group: a few bytes that ask the
// compiler for funcs*locals locals.
func localsModule(funcs int, locals uint32) []byte {
	sec := func(b []byte, id byte, body []byte) []byte {
		return append(binary.AppendUvarint(append(b, id), uint64(len(body))), body...)
	}
	fnsec := binary.AppendUvarint(nil, uint64(funcs))
	code := binary.AppendUvarint(nil, uint64(funcs))
	body := append(binary.AppendUvarint([]byte{0x01}, uint64(locals)), 0x7F, 0x0B)
	for range funcs {
		fnsec = append(fnsec, 0)
		code = append(binary.AppendUvarint(code, uint64(len(body))), body...)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = sec(m, 1, []byte{0x01, 0x60, 0x00, 0x00})
	m = sec(m, 3, fnsec)
	return sec(m, 10, code)
}

// TestManyLocalsRefused: 32 M locals in one 20-byte function took 2.7 s
// and 805 MB to compile; 2^32-1 more. Both are refused before compiling,
// quickly and without allocating in proportion to what they declare, as
// is a module whose functions together declare too many.
func TestManyLocalsRefused(t *testing.T) {
	h := newHost(t, HostOptions{})
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"locals32m", localsModule(1, 32<<20), "declares 33554432 or more locals, max_locals_per_function is 50000"},
		{"localsmax", localsModule(1, 1<<32-1), "max_locals_per_function is 50000"},
		{"localstotal", localsModule(100, 40000), "max_locals is 2000000"},
	} {
		path := filepath.Join(dir, c.name+".wasm")
		if err := os.WriteFile(path, c.wasm, 0o644); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := h.Load(context.Background(), Config{Name: c.name, Path: path})
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s (%d bytes): refused in %s, %d bytes allocated: %v", c.name, len(c.wasm), took, alloc, err)
		if !errors.Is(err, ErrBadModule) || !errors.Is(err, modlimits.ErrLimit) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want ErrBadModule containing %q", c.name, err, c.want)
		}
		if alloc > 1<<20 {
			t.Errorf("%s: loading allocated %d bytes for a %d-byte module", c.name, alloc, len(c.wasm))
		}
		if took > time.Second {
			t.Errorf("%s: refused after %s", c.name, took)
		}
	}
}

// TestModuleLimits: each size limit refuses the kitchen plugin when set
// below it, naming the limit and the module's value.
func TestModuleLimits(t *testing.T) {
	h := newHost(t, HostOptions{})
	st, err := os.Stat(wasmPath("kitchen"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set  func(*modlimits.Limits)
		want string
	}{
		{func(l *modlimits.Limits) { l.MaxModuleBytes = 1000 }, "the module is " + strconv.FormatInt(st.Size(), 10) + " bytes, max_module_bytes is 1000"},
		{func(l *modlimits.Limits) { l.MaxFunctions = 100 }, "functions, max_functions is 100"},
		{func(l *modlimits.Limits) { l.MaxCodeBytes = 1000 }, "max_code_bytes is 1000"},
		{func(l *modlimits.Limits) { l.MaxLocalsPerFunction = 2 }, "max_locals_per_function is 2"},
		{func(l *modlimits.Limits) { l.MaxLocals = 100 }, "max_locals is 100"},
		{func(l *modlimits.Limits) { l.MaxTableEntries = 100 }, "max_table_entries is 100"},
	} {
		cfg := kitchenConfig("limited")
		c.set(&cfg.Limits)
		_, err := h.Load(context.Background(), cfg)
		if !errors.Is(err, ErrBadModule) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "plugin limited") {
			t.Errorf("err %v, want ErrBadModule naming the plugin and containing %q", err, c.want)
		}
	}
	// The defaults admit it with room to spare.
	wasm, err := os.ReadFile(wasmPath("kitchen"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := modlimits.Check(wasm, modlimits.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kitchen: %+v", sum)
}
