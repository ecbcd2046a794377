package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/hookgate/hookgate/plugins/internal/interrupt"
	"github.com/hookgate/hookgate/sdk/abi"
	"github.com/hookgate/hookgate/store"
)

// baselineDecide is the same work as the kitchen's "config:greeting" call
// done natively: decode the request, read one config value, encode the
// decision, decode it on the host side.
func baselineDecide(cfg map[string]string, input []byte) (Decision, error) {
	var req abi.Request
	if err := json.Unmarshal(input, &req); err != nil {
		return Decision{}, err
	}
	out, err := json.Marshal(Decision{Success: true, Message: cfg["greeting"]})
	if err != nil {
		return Decision{}, err
	}
	var w wireOutput
	if err := json.Unmarshal(out, &w); err != nil {
		return Decision{}, err
	}
	return Decision{Success: *w.Success, Message: w.Message}, nil
}

func benchBaseline(b *testing.B) {
	cfg := map[string]string{"greeting": "hello"}
	in := request("config:greeting", "alice.nguyen@example.com")
	b.ReportAllocs()
	for b.Loop() {
		if d, err := baselineDecide(cfg, in); err != nil || d.Message != "hello" {
			b.Fatal(d, err)
		}
	}
}

// baselineNsPerOp times the baseline for about 200 ms in the same process
// (testing.Benchmark cannot run inside a benchmark).
func baselineNsPerOp(b *testing.B) float64 {
	cfg := map[string]string{"greeting": "hello"}
	in := request("config:greeting", "alice.nguyen@example.com")
	n := 0
	start := time.Now()
	for time.Since(start) < 200*time.Millisecond {
		for range 100 {
			if _, err := baselineDecide(cfg, in); err != nil {
				b.Fatal(err)
			}
		}
		n += 100
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// BenchmarkWarmCallBaseline is the native Go baseline for BenchmarkWarmCall.
func BenchmarkWarmCallBaseline(b *testing.B) { benchBaseline(b) }

// benchPlugin runs action through a warm pool and reports its cost as a
// multiple of the native baseline.
func benchPlugin(b *testing.B, opts HostOptions, action string, want bool) {
	h := newHost(b, opts)
	cfg := kitchenConfig("bench")
	cfg.PoolSize = runtime.GOMAXPROCS(0)
	p := load(b, h, cfg)
	in := request(action, "alice.nguyen@example.com")
	ctx := context.Background()
	for range cfg.PoolSize { // warm every instance
		if _, err := p.Call(ctx, "pre_approval", in); err != nil {
			b.Fatal(err)
		}
	}
	base := baselineNsPerOp(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := p.Call(ctx, "pre_approval", in)
		if err != nil || res.Decision.Success != want {
			b.Fatal(res, err)
		}
	}
	b.StopTimer()
	nsPerOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(base, "baseline-ns/op")
	b.ReportMetric(nsPerOp/base, "x-baseline")
}

// BenchmarkWarmCall is one pre_approval call making one host call
// (config_get) through a warm pool; target < 50 µs.
func BenchmarkWarmCall(b *testing.B) {
	benchPlugin(b, HostOptions{}, "config:greeting", true)
}

// BenchmarkWarmCallIsMember makes the call the oncall example makes: one
// is_member against a real Badger store.
func BenchmarkWarmCallIsMember(b *testing.B) {
	st := openStore(b)
	seedIdentity(b, st)
	benchPlugin(b, HostOptions{Identity: st}, "member:oncall-engineers", true)
}

// BenchmarkWarmCallParallel runs warm calls from GOMAXPROCS goroutines over
// a pool of GOMAXPROCS instances.
func BenchmarkWarmCallParallel(b *testing.B) {
	h := newHost(b, HostOptions{})
	cfg := kitchenConfig("bench-par")
	cfg.PoolSize = runtime.GOMAXPROCS(0)
	p := load(b, h, cfg)
	in := request("config:greeting", "alice.nguyen@example.com")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Call(context.Background(), "pre_approval", in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHostCall measures what one SDK host call costs a guest (here
// sdk.LookupConfig: config_get plus result_read, and the guest-side copy):
// a call making 200 of them against one making none, same input, same
// warm instance. Reported as ns per host call.
func BenchmarkHostCall(b *testing.B) {
	p := load(b, newHost(b, HostOptions{}), kitchenConfig("bench-hostcall"))
	ctx := context.Background()
	const n = 200
	none, many := request("hostcalls:0", "a@example.com"), request("hostcalls:200", "a@example.com")
	cost := func(in []byte) time.Duration {
		start := time.Now()
		for range 500 {
			if _, err := p.Call(ctx, "pre_approval", in); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / 500
	}
	cost(many) // warm up
	b.ResetTimer()
	var per float64
	for b.Loop() {
		per = float64((cost(many) - cost(none)).Nanoseconds()) / n
	}
	b.ReportMetric(per, "ns/hostcall")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWarmCallFuelByWork is BenchmarkWarmCall's call (and
// BenchmarkWarmCallIsMember's) on two pools of
// the kitchen plugin in one process, alternating in batches of 32 calls
// (and which goes first), so that a loaded machine slows both alike:
// "checks" is instrumented as before fuel by work (function entry and loop
// checks only), "work" as the host now serves it (bulk instructions
// charged by length, long ones chunked, tables capped). It reports each
// one's wall ns/op and, steadier on a busy machine, the calling thread's
// CPU ns/op (the guest and its host calls run on the caller's goroutine,
// locked to its thread here), and work/checks of both; the target is at
// most 1.05.
func BenchmarkWarmCallFuelByWork(b *testing.B) {
	b.Run("config", func(b *testing.B) { benchFuelByWork(b, HostOptions{}, "config:greeting") })
	b.Run("is_member", func(b *testing.B) {
		st := openStore(b)
		seedIdentity(b, st)
		benchFuelByWork(b, HostOptions{Identity: st}, "member:oncall-engineers")
	})
}

func benchFuelByWork(b *testing.B, opts HostOptions, action string) {
	h := newHost(b, opts)
	loadVariant := func(name string, checksOnly bool) *Plugin {
		instrument = func(w []byte, o interrupt.Options) ([]byte, interrupt.Stats, error) {
			o.ChecksOnly = checksOnly
			return interrupt.Instrument(w, o)
		}
		defer func() { instrument = interrupt.Instrument }()
		cfg := kitchenConfig(name)
		cfg.PoolSize = 1
		return load(b, h, cfg)
	}
	checks, work := loadVariant("checks", true), loadVariant("work", false)
	in := request(action, "alice.nguyen@example.com")
	ctx := context.Background()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const batch = 32
	type total struct{ wall, cpu time.Duration }
	run := func(p *Plugin, t *total) {
		c0, w0 := threadCPU(), time.Now()
		for range batch {
			res, err := p.Call(ctx, "pre_approval", in)
			if err != nil || !res.Decision.Success {
				b.Fatal(res, err)
			}
		}
		t.wall += time.Since(w0)
		t.cpu += threadCPU() - c0
	}
	var tc, tw total
	for range 4 { // warm up
		run(checks, &tc)
		run(work, &tw)
	}
	tc, tw = total{}, total{}
	n := 0
	b.ResetTimer()
	for n < b.N {
		if n/batch%2 == 0 {
			run(checks, &tc)
			run(work, &tw)
		} else {
			run(work, &tw)
			run(checks, &tc)
		}
		n += batch
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(n) }
	b.ReportMetric(per(tc.wall), "checks-ns/op")
	b.ReportMetric(per(tw.wall), "work-ns/op")
	b.ReportMetric(per(tw.wall)/per(tc.wall), "work/checks-wall")
	b.ReportMetric(per(tc.cpu), "checks-cpu-ns/op")
	b.ReportMetric(per(tw.cpu), "work-cpu-ns/op")
	b.ReportMetric(per(tw.cpu)/per(tc.cpu), "work/checks-cpu")
}

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		panic(e)
	}
	return time.Duration(ts.Nano())
}

// BenchmarkWarmCallEncryption runs warm plugin calls against an
// unencrypted and an encrypted store (Badger encryption at rest, 64 MiB
// index cache), alternating in the same run, and prints wall and calling
// thread CPU ns per call for both with the ratios (CPU is steadier on a
// loaded machine: the guest and its host calls run on the caller's
// thread): the BenchmarkWarmCall call (config_get, no store read), the
// oncall call (is_member; answered from the store's read cache after the
// first call) and a user_get by email (UserByEmail, a Badger read every
// call). Run with -benchtime=1x.
func BenchmarkWarmCallEncryption(b *testing.B) {
	open := func(key []byte) *store.Store {
		st, err := store.Open(b.TempDir(), store.Options{EncryptionKey: key})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		seedIdentity(b, st)
		return st
	}
	plain, enc := open(nil), open(bytes.Repeat([]byte{9}, 32))
	h := newHost(b, HostOptions{Identity: plain})
	he := newHost(b, HostOptions{Identity: enc})
	p := load(b, h, kitchenConfig("bench-plain"))
	pe := load(b, he, kitchenConfig("bench-enc"))
	ctx := context.Background()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	timeCalls := func(p *Plugin, in []byte) (wall, cpu float64) {
		n := 0
		start, c0 := time.Now(), threadCPU()
		for time.Since(start) < 300*time.Millisecond {
			for range 20 {
				if _, err := p.Call(ctx, "pre_approval", in); err != nil {
					b.Fatal(err)
				}
			}
			n += 20
		}
		return float64(time.Since(start).Nanoseconds()) / float64(n), float64((threadCPU() - c0).Nanoseconds()) / float64(n)
	}
	for i := 0; i < b.N; i++ {
		for _, c := range []struct{ name, action string }{
			{"WarmCall (config_get)", "config:greeting"},
			{"WarmCallIsMember (cached read)", "member:oncall-engineers"},
			{"user_get by email (Badger read)", "useremail:alice.nguyen@example.com"},
		} {
			in := request(c.action, "alice.nguyen@example.com")
			timeCalls(p, in) // warm
			timeCalls(pe, in)
			var off, on, offCPU, onCPU float64
			const rounds = 4
			for r := 0; r < rounds; r++ {
				first, second := p, pe
				if r%2 == 1 {
					first, second = pe, p
				}
				w1, c1 := timeCalls(first, in)
				w2, c2 := timeCalls(second, in)
				if first == pe {
					w1, c1, w2, c2 = w2, c2, w1, c1
				}
				off, offCPU, on, onCPU = off+w1, offCPU+c1, on+w2, onCPU+c2
			}
			fmt.Printf("%-33s unencrypted %6.1f µs/call (CPU %6.1f), encrypted %6.1f µs/call (CPU %6.1f), ratio wall %.2f CPU %.2f\n",
				c.name, off/rounds/1e3, offCPU/rounds/1e3, on/rounds/1e3, onCPU/rounds/1e3, on/off, onCPU/offCPU)
		}
		if la, err := os.ReadFile("/proc/loadavg"); err == nil {
			fmt.Printf("load average %s", la)
		}
	}
}
