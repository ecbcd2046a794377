package interrupt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// The bound on work between two yields, measured: each workload is an
// endless loop the yield stops after a few hundred yields; the yield
// records the longest and the mean stretch of guest time between two of
// its calls. `go test -bench=YieldGap ./plugins/internal/interrupt`
// prints them (the package comment quotes a run).
var gapWorkloads = []struct{ name, body string }{
	// The cheapest check per loop iteration: Allowance iterations per
	// yield.
	{"loop", `(loop $l (br $l))`},
	// Bulk instructions of 64 KiB (a stretch then holds 64 of them) and
	// of 16 MiB (several allowances each: a yield before every one).
	{"fill64k", `(loop $l (memory.fill (i32.const 0) (i32.const 7) (i32.const 0x10000)) (br $l))`},
	{"fill16m", `(loop $l (memory.fill (i32.const 0) (i32.const 7) (i32.const 0x1000000)) (br $l))`},
	{"copy64k", `(loop $l (memory.copy (i32.const 0) (i32.const 0x800000) (i32.const 0x10000)) (br $l))`},
	{"copy8m", `(loop $l (memory.copy (i32.const 0) (i32.const 0x800000) (i32.const 0x800000)) (br $l))`},
	{"tablefill", `(loop $l (table.fill $t (i32.const 0) (ref.func $f) (i32.const 0x20000)) (br $l))`},
	{"tablecopy", `(loop $l (table.copy $t $t (i32.const 0) (i32.const 0x10000) (i32.const 0x10000)) (br $l))`},
}

func gapModule(t testing.TB, body string) []byte {
	t.Helper()
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm (Debian package wabt, installed by .ci/run) is not installed")
	}
	src := `(module (memory 300) (table $t 0x20000 funcref) (elem declare func $f)
	  (func $f) (func (export "run") ` + body + `))`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.wat"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("wat2wasm", "-o", filepath.Join(dir, "m.wasm"), filepath.Join(dir, "m.wat")).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, out)
	}
	wasm, err := os.ReadFile(filepath.Join(dir, "m.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := Instrument(wasm, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// gaps runs workload until n yields and returns the longest, mean and
// median time between two yields.
func gaps(t testing.TB, wasm []byte, n int) (worst, mean, median time.Duration) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	var (
		last  time.Time
		count int
		total time.Duration
		all   []time.Duration
	)
	_, err := rt.NewHostModuleBuilder(YieldModule).NewFunctionBuilder().
		WithFunc(func(context.Context) uint32 {
			now := time.Now()
			if !last.IsZero() {
				d := now.Sub(last)
				worst = max(worst, d)
				total += d
				all = append(all, d)
			}
			count++
			if count > n {
				panic(errStop)
			}
			last = time.Now()
			return Allowance
		}).Export(YieldName).Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = m.ExportedFunction("run").Call(ctx)
	slices.Sort(all)
	return worst, total / time.Duration(n), all[len(all)/2]
}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }

var errStop = stopErr{}

// TestYieldGapBounded: every workload yields, at a generous bound on the
// median gap that catches an uncharged instruction (an uncharged 16 MiB
// fill loop holds 16k fills, a minute, between two yields) but not a
// loaded machine's scheduling delays (the worst gap, logged, has them).
func TestYieldGapBounded(t *testing.T) {
	for _, w := range gapWorkloads {
		worst, mean, median := gaps(t, gapModule(t, w.body), 50)
		t.Logf("%-10s worst %8s mean %8s median %8s between yields", w.name, worst, mean, median)
		if median > 250*time.Millisecond {
			t.Errorf("%s: median %s between two yields", w.name, median)
		}
	}
}

// BenchmarkYieldGap reports the longest and mean stretch between yields
// per workload (max-µs, mean-µs); ns/op is meaningless.
func BenchmarkYieldGap(b *testing.B) {
	for _, w := range gapWorkloads {
		b.Run(w.name, func(b *testing.B) {
			wasm := gapModule(b, w.body)
			var worst, sum time.Duration
			for range b.N {
				wo, mean, _ := gaps(b, wasm, 200)
				worst = max(worst, wo)
				sum += mean
			}
			b.ReportMetric(float64(worst.Microseconds()), "max-µs")
			b.ReportMetric(float64(sum.Microseconds())/float64(b.N), "mean-µs")
		})
	}
}
