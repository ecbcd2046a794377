//go:build unix

package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/store"
)

// Shape of BenchmarkHookOverhead: hookBenchCallers concurrent callers over
// keep-alive connections, overheadRounds rounds alternating gateway / raw
// fasthttp, overheadPerRun requests per caller per target per round.
const (
	overheadPerRun = 4000
	overheadRounds = 3
)

// fixedDecider is a Decider that answers at once with a fixed decision: the
// benchmark measures everything the gateway does around a plugin call, and
// nothing of the plugin itself.
type fixedDecider struct{ dec hook.Decision }

// Decide returns the fixed decision.
func (f fixedDecider) Decide(context.Context, string, []byte, *hook.HookRequest) (hook.Decision, error) {
	return f.dec, nil
}

// overheadConfig routes pre_approval for app aws to the plugin "fixed". The
// config loader wants the plugin's .wasm file to exist; it is never loaded
// (the Dispatcher gets fixedDecider under that name).
const overheadConfig = `
[[plugin]]
name = "fixed"
path = %q

[[route]]
kind = "pre_approval"
app_id = "aws"
plugin = "fixed"
`

// BenchmarkHookOverhead measures the host-side cost of an inline hook: the
// real gateway (fasthttp server, auth, body read, parse and validation,
// routing, metrics, the Responder, the audit record through the group-commit
// writer into a real Badger in a temp dir) with an in-process Decider that
// answers immediately, beside a raw fasthttp server on loopback whose
// handler writes the same response bytes and nothing else (the baseline:
// what the transport alone costs). The same fasthttp client drives both
// with the Lumos pre_approval fixture, hookBenchCallers callers, keep-alive,
// in alternating rounds of the same run. It prints p50/p99, requests/s,
// the process CPU time per request (client included, the same for both, so
// the difference is the gateway's) and the ratios. Run with -benchtime=1x
// (make bench).
func BenchmarkHookOverhead(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runHookOverheadBench(b)
	}
}

func runHookOverheadBench(b *testing.B) {
	dir := b.TempDir()
	wasm := filepath.Join(dir, "fixed.wasm")
	if err := os.WriteFile(wasm, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	cfg := testConfig(b, fmt.Sprintf(overheadConfig, wasm))
	quiet := quietLogger()
	st := openTestStore(b, cfg, quiet)
	audit := store.NewAuditLog(st, store.AuditOptions{Logger: quiet})
	d := hook.NewDispatcher(dispatcherOptions(cfg,
		map[string]hook.Decider{"fixed": fixedDecider{hook.Decision{Success: true}}}, audit, quiet))
	srv := gateway.New(cfg, st, quiet)
	srv.EnableHooks(d)
	url, served := serveLoopback(b, srv)
	defer func() {
		shutdown(b, srv)
		if err := <-served; err != nil {
			b.Errorf("serve: %v", err)
		}
		audit.Close()
		if err := st.Close(); err != nil {
			b.Errorf("close store: %v", err)
		}
	}()

	body := sharedFixture(b, "lumos/pre_approval.json")
	gw := &target{name: "gateway (in-process Decider)", addr: url[len("http://"):], path: "/hooks/pre_approval", auth: testHookSecret}
	gw.client = &fasthttp.HostClient{Addr: gw.addr, MaxConns: hookBenchCallers * 2}
	code, want := gw.do(body)
	if code != 200 || !bytes.Equal(want, []byte(`{"response":"APPROVED"}`)) {
		b.Fatalf("gateway answered %d %s, want 200 {\"response\":\"APPROVED\"}", code, want)
	}

	// The baseline: the same reply bytes from a bare fasthttp handler.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	raw := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(want)
	}}
	go raw.Serve(ln)
	defer raw.Shutdown()
	rt := &target{name: "raw fasthttp (same reply)", addr: ln.Addr().String(), path: "/pre_approval", auth: testHookSecret}
	rt.client = &fasthttp.HostClient{Addr: rt.addr, MaxConns: hookBenchCallers * 2}
	if code, got := rt.do(body); code != 200 || !bytes.Equal(got, want) {
		b.Fatalf("raw server answered %d %s", code, got)
	}

	targets := []*target{gw, rt}
	cpu := map[*target]time.Duration{}
	for _, t := range targets {
		t.run(body, body, 300) // warm-up
		t.lat, t.elapsed = t.lat[:0], 0
	}
	for range overheadRounds {
		for _, t := range targets {
			c0 := processCPU()
			t.run(body, body, overheadPerRun)
			cpu[t] += processCPU() - c0
		}
	}
	if err := audit.Flush(); err != nil {
		b.Fatalf("audit flush: %v", err)
	}

	n := len(gw.lat)
	gp50, gp99, grps := gw.stats()
	rp50, rp99, rrps := rt.stats()
	gcpu := cpu[gw] / time.Duration(n)
	rcpu := cpu[rt] / time.Duration(len(rt.lat))
	b.Logf("load average at the end: %s", loadAvg())
	b.Logf("pre_approval, %d callers, %d requests per target (keep-alive, fasthttp client, alternating rounds, same run):", hookBenchCallers, n)
	for _, r := range []struct {
		t        *target
		p50, p99 time.Duration
		rps      float64
		cpu      time.Duration
	}{{gw, gp50, gp99, grps, gcpu}, {rt, rp50, rp99, rrps, rcpu}} {
		b.Logf("  %-30s p50 %9s  p99 %9s  %8.0f req/s  process CPU %6.1f µs/req", r.t.name,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.rps, float64(r.cpu.Nanoseconds())/1000)
	}
	b.Logf("  ratio gateway / raw fasthttp: p50 %.2fx  p99 %.2fx  throughput %.2fx  CPU/req %.2fx",
		float64(gp50)/float64(rp50), float64(gp99)/float64(rp99), grps/rrps, float64(gcpu)/float64(rcpu))
	b.Logf("  gateway host-side overhead: %.1f µs CPU per request (%.1f µs of wall time per request at this concurrency)",
		float64((gcpu-rcpu).Nanoseconds())/1000, (1/grps-1/rrps)*1e6)
	b.ReportMetric(float64(gp50.Microseconds()), "gw-p50-µs")
	b.ReportMetric(float64(gp99.Microseconds()), "gw-p99-µs")
	b.ReportMetric(grps, "gw-req/s")
	b.ReportMetric(float64(gcpu.Nanoseconds())/1000, "gw-cpu-µs/req")
	b.ReportMetric(float64(rp50.Microseconds()), "raw-p50-µs")
	b.ReportMetric(rrps, "raw-req/s")
	b.ReportMetric(float64(rcpu.Nanoseconds())/1000, "raw-cpu-µs/req")
	b.ReportMetric(grps/rrps, "x-throughput")
}

// processCPU is the CPU time (user + system) the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
