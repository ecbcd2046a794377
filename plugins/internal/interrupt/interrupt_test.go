package interrupt

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// mod assembles a module from (id, body) pairs in the order given.
func mod(secs ...any) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for i := 0; i < len(secs); i += 2 {
		body := secs[i+1].([]byte)
		b = append(b, byte(secs[i].(int)))
		b = binary.AppendUvarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	return b
}

// vec prefixes items with their count; each item is raw bytes.
func vec(items ...[]byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func str(s string) []byte { return append(binary.AppendUvarint(nil, uint64(len(s))), s...) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// body is one code entry: size, no locals, the instructions.
func body(instrs ...byte) []byte {
	fn := append([]byte{0x00}, instrs...)
	return append(binary.AppendUvarint(nil, uint64(len(fn))), fn...)
}

var (
	typeVoid = []byte{0x60, 0x00, 0x00}       // () -> ()
	typeI32  = []byte{0x60, 0x00, 0x01, 0x7F} // () -> i32
	typeLoop = []byte{0x60, 0x01, 0x7F, 0x01, 0x7F}
)

func export(name string, kind byte, idx byte) []byte { return cat(str(name), []byte{kind, idx}) }

// spinModule exports "spin", an endless loop, and no globals.
func spinModule() []byte {
	return mod(
		secType, vec(typeVoid),
		secFunction, vec([]byte{0}),
		secExport, vec(export("spin", 0, 0)),
		secCode, vec(body(0x03, 0x40, 0x0C, 0x00, 0x0B, 0x0B)), // loop br 0 end end
	)
}

// yielder is the host side of the yield import for tests: it counts calls
// and aborts the guest once stop is set.
type yielder struct {
	stop  atomic.Bool
	calls atomic.Int64
}

// runtime returns a compiler runtime that provides the yield import.
func (y *yielder) runtime(t *testing.T) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	t.Cleanup(func() { rt.Close(ctx) })
	_, err := rt.NewHostModuleBuilder(YieldModule).NewFunctionBuilder().
		WithFunc(func(context.Context) uint32 {
			y.calls.Add(1)
			if y.stop.Load() {
				panic(sys.NewExitError(99))
			}
			return Allowance
		}).Export(YieldName).Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func instrument(t *testing.T, wasm []byte) ([]byte, Stats) {
	t.Helper()
	out, st, err := Instrument(wasm, Options{})
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	return out, st
}

// wantStopped waits for a call's error and checks it is the yielder's exit.
func wantStopped(t *testing.T, errc <-chan error) {
	t.Helper()
	select {
	case err := <-errc:
		var exit *sys.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 99 {
			t.Fatalf("call ended with %v, want the yield's exit code 99", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("guest still running a minute after stop was set")
	}
}

// TestYieldStopsEndlessLoop: the loop would run forever (wazero is not
// asked to check anything); once the host's yield refuses, it ends.
func TestYieldStopsEndlessLoop(t *testing.T) {
	wasm, st := instrument(t, spinModule())
	if st.Loops != 1 || st.Functions != 1 || st.FuelIndex != 0 || st.ImportedFuncs != 0 {
		t.Fatalf("stats %+v, want 1 loop in 1 function, fuel at global 0, no imports", st)
	}
	var y yielder
	m, err := y.runtime(t).Instantiate(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := m.ExportedFunction("spin").Call(context.Background())
		errc <- err
	}()
	for y.calls.Load() < 3 { // it keeps yielding while it runs
		select {
		case err := <-errc:
			t.Fatalf("spin returned: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	y.stop.Store(true)
	wantStopped(t, errc)
}

// TestIndicesPreserved: the yield import shifts every defined function up
// by one; calls, call_indirect through an element segment, the start
// function, exports, imported functions and globals and the name section
// must all still point where they did.
func TestIndicesPreserved(t *testing.T) {
	// Imports: env.g (global i32 = 2), env.double (func 0, (i32)->i32).
	// Defined: 1 get () -> g + g1; 2 sum (i32)->i32 (a loop carrying its
	// counter as a loop parameter); 3 viaTable () -> table[0](10);
	// 4 callImport () -> double(21) + get(); 5 init (start) g1 = 40;
	// 6 boom () traps, named "boom_fn" in the name section.
	sum := cat([]byte{0x01, 0x01, 0x7F}, []byte{
		0x41, 0x00, 0x21, 0x01, // acc = 0
		0x20, 0x00, // local.get 0: [n]
		0x03, 0x02, // loop (type 2: i32 -> i32)
		0x21, 0x00, // local.set 0
		0x20, 0x00, 0x20, 0x01, 0x6A, 0x21, 0x01, // acc += n
		0x20, 0x00, 0x41, 0x01, 0x6B, 0x22, 0x00, // n = n-1, keep it: [n-1]
		0x20, 0x00, 0x0D, 0x00, // br_if 0 while n-1 != 0, carrying [n-1]
		0x0B,       // end loop: [0]
		0x1A,       // drop
		0x20, 0x01, // local.get 1
		0x0B,
	})
	fn := func(b []byte) []byte { return cat(binary.AppendUvarint(nil, uint64(len(b))), b) }
	wasm := mod(
		secType, vec(typeVoid, typeI32, typeLoop),
		secImport, vec(
			cat(str("env"), str("g"), []byte{0x03, 0x7F, 0x00}),
			cat(str("env"), str("double"), []byte{0x00, 0x02}),
		),
		secFunction, vec([]byte{1}, []byte{2}, []byte{1}, []byte{1}, []byte{0}, []byte{0}),
		secTable, vec([]byte{0x70, 0x00, 0x01}),
		secGlobal, vec([]byte{0x7F, 0x01, 0x41, 0x00, 0x0B}),
		secExport, vec(export("get", 0, 1), export("sum", 0, 2), export("viaTable", 0, 3),
			export("callImport", 0, 4), export("boom", 0, 6), export("g1", 3, 1)),
		secStart, []byte{5},
		secElement, vec([]byte{0x00, 0x41, 0x00, 0x0B, 0x01, 0x02}), // table[0] = func 2
		secCode, vec(
			body(0x23, 0x00, 0x23, 0x01, 0x6A, 0x0B),
			fn(sum),
			body(0x41, 10, 0x41, 0x00, 0x11, 0x02, 0x00, 0x0B),
			body(0x41, 21, 0x10, 0x00, 0x10, 0x01, 0x6A, 0x0B),
			body(0x41, 40, 0x24, 0x01, 0x0B),
			body(0x00, 0x0B),
		),
		secCustom, cat(str("name"), []byte{0x01}, fn(vec(cat([]byte{6}, str("boom_fn"))))),
	)
	out, st := instrument(t, wasm)
	if st.FuelIndex != 2 || st.Loops != 1 || st.ImportedFuncs != 1 || st.Functions != 6 {
		t.Fatalf("stats %+v, want fuel at global 2, 1 loop, 1 imported function, 6 bodies", st)
	}
	ctx := context.Background()
	var y yielder
	rt := y.runtime(t)
	env := mod(
		secType, vec(typeLoop),
		secFunction, vec([]byte{0}),
		secGlobal, vec([]byte{0x7F, 0x00, 0x41, 2, 0x0B}),
		secExport, vec(export("g", 0x03, 0), export("double", 0x00, 0)),
		secCode, vec(body(0x20, 0x00, 0x20, 0x00, 0x6A, 0x0B)),
	)
	if _, err := rt.InstantiateWithConfig(ctx, env, wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	m, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatalf("instantiate the instrumented module: %v", err)
	}
	for _, c := range []struct {
		fn   string
		args []uint64
		want uint64
	}{
		{"get", nil, 42}, // imported 2 + defined 40 set by the start function
		{"sum", []uint64{10}, 55},
		{"viaTable", nil, 55},   // call_indirect through the element segment
		{"callImport", nil, 84}, // double(21) + get()
	} {
		res, err := m.ExportedFunction(c.fn).Call(ctx, c.args...)
		if err != nil || res[0] != c.want {
			t.Errorf("%s(%v) = %v, %v; want %d", c.fn, c.args, res, err, c.want)
		}
	}
	if _, err := m.ExportedFunction("boom").Call(ctx); err == nil || !strings.Contains(err.Error(), "boom_fn") {
		t.Errorf("boom: %v, want a trap whose stack trace names boom_fn", err)
	}
	if g := m.ExportedGlobal("g1"); g == nil || g.Get() != 40 {
		t.Errorf("exported global g1 = %v, want 40", g)
	}
	// Each function entry and loop header costs one unit of fuel. Spent so
	// far: init 1, get 1, sum 1+10, viaTable 1+11, callImport 1+1, boom 1.
	const spent = 28
	y.stop.Store(true)
	for i := 0; i < Allowance+10; i++ {
		if _, err := m.ExportedFunction("get").Call(ctx); err != nil {
			var exit *sys.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 99 {
				t.Fatalf("get: %v", err)
			}
			if y.calls.Load() != 1 || spent+i+1 != Allowance {
				t.Fatalf("first yield at call %d (%d yields), want it at call %d: one unit of fuel per function entry", i, y.calls.Load(), Allowance-spent-1)
			}
			return
		}
	}
	t.Fatalf("%d calls without a yield", Allowance+10)
}

func TestRefusals(t *testing.T) {
	bad := func(name string, wasm []byte, want error, contains string) {
		t.Helper()
		_, _, err := Instrument(wasm, Options{})
		if !errors.Is(err, want) || !strings.Contains(err.Error(), contains) {
			t.Errorf("%s: err = %v, want %v containing %q", name, err, want, contains)
		}
	}
	bad("not wasm", []byte("ELF..."), ErrMalformed, "magic")
	bad("truncated", spinModule()[:20], ErrMalformed, "")
	bad("guest writes the fuel's index", mod(
		secType, vec(typeVoid),
		secFunction, vec([]byte{0}),
		secCode, vec(body(0x41, 0x01, 0x24, 0x00, 0x0B)), // i32.const 1; global.set 0
	), ErrMalformed, "global index 0 does not exist")
	bad("unknown opcode", mod(
		secType, vec(typeVoid),
		secFunction, vec([]byte{0}),
		secCode, vec(body(0xFB, 0x00, 0x0B)), // GC prefix
	), ErrUnsupported, "opcode 0xfb")
	once, _, err := Instrument(spinModule(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	bad("instrumented twice", once, ErrUnsupported, "instrumented twice")
	bad("GC type", mod(secType, vec([]byte{0x5F, 0x00})), ErrUnsupported, "not a function type")
	bad("sections out of order", mod(
		secFunction, vec([]byte{0}),
		secType, vec(typeVoid),
	), ErrMalformed, "out of order")
}

// TestInsertsMissingSections: a module with no types, imports or globals
// gets all three, in the right place.
func TestInsertsMissingSections(t *testing.T) {
	wasm := mod(
		secFunction, vec(),
		secExport, vec(),
		secCustom, cat(str(".debug_info"), []byte{1, 2, 3}),
		secCustom, cat(str("producers"), []byte{0}),
	)
	out, _ := instrument(t, wasm)
	var y yielder
	if _, err := y.runtime(t).Instantiate(context.Background(), out); err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	secs, err := splitSections(out)
	if err != nil {
		t.Fatal(err)
	}
	var ids []byte
	for _, s := range secs {
		ids = append(ids, s.id)
	}
	if string(ids) != string([]byte{secType, secImport, secFunction, secGlobal, secExport, secCustom}) {
		t.Fatalf("sections %v: want type import function global export and one custom (DWARF dropped)", ids)
	}
}

// TestGoModule instruments a real Go (wasip1, c-shared) module and runs an
// export that loops until interrupted.
func TestGoModule(t *testing.T) {
	wasm := buildGo(t, `package main

//go:wasmexport spin
func spin() int32 {
	n := int32(0)
	for {
		n++
		if n < 0 {
			return n
		}
	}
}

//go:wasmexport sum
func sum(n int32) int32 {
	s := int32(0)
	for i := int32(1); i <= n; i++ {
		s += i
	}
	return s
}

func main() {}
`)
	out, st := instrument(t, wasm)
	if st.Loops < 100 {
		t.Fatalf("only %d loops instrumented in a Go module; the Go runtime alone has hundreds", st.Loops)
	}
	ctx := context.Background()
	var y yielder
	rt := y.runtime(t)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	m, err := rt.InstantiateWithConfig(ctx, out, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatalf("instantiate instrumented Go module: %v", err)
	}
	res, err := m.ExportedFunction("sum").Call(ctx, 100)
	if err != nil || int32(res[0]) != 5050 {
		t.Fatalf("sum(100) = %v, %v; want 5050", res, err)
	}
	// A garbage collection while the guest spins: its stop-the-world must
	// not wait for the guest (Go cannot preempt native code, only stop it
	// at a call into Go, which yield is).
	time.AfterFunc(5*time.Millisecond, func() {
		runtime.GC()
		y.stop.Store(true)
	})
	errc := make(chan error, 1)
	go func() {
		_, err := m.ExportedFunction("spin").Call(ctx)
		errc <- err
	}()
	wantStopped(t, errc)
}

func buildGo(t *testing.T, src string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module spin\n\ngo 1.24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", "m.wasm", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "m.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBulkCharged: a loop of n 64 KiB memory.fills yields once per
// Allowance<<ByteShift bytes, not once per Allowance iterations, keeps
// the function's own locals intact, and the bulk charge costs nothing
// when the length is below 1<<ByteShift.
func TestBulkCharged(t *testing.T) {
	// (func (param $n i32) (result i32) (local $i i32)
	//   loop: memory.fill(0, 7, 65536); i++; br_if i < n; return i)
	fill := cat([]byte{0x01, 0x01, 0x7F}, []byte{
		0x03, 0x40,
		0x41, 0x00, 0x41, 0x07, 0x41, 0x80, 0x80, 0x04, 0xFC, 0x0B, 0x00, // memory.fill(0, 7, 65536)
		0x20, 0x01, 0x41, 0x01, 0x6A, 0x22, 0x01, // i = i+1, keep it
		0x20, 0x00, 0x49, 0x0D, 0x00, // br_if i < n
		0x0B,
		0x20, 0x01, 0x0B,
	})
	fn := cat(binary.AppendUvarint(nil, uint64(len(fill))), fill)
	wasm := mod(
		secType, vec(typeLoop),
		secFunction, vec([]byte{0}),
		secMemory, vec([]byte{0x00, 0x02}),
		secExport, vec(export("fill", 0, 0)),
		secCode, vec(fn),
	)
	out, st := instrument(t, wasm)
	if st.Bulk != 1 {
		t.Fatalf("stats %+v, want 1 bulk instruction", st)
	}
	var y yielder
	m, err := y.runtime(t).Instantiate(context.Background(), out)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	const n = 1024 // 64 MiB: 256 units per fill
	res, err := m.ExportedFunction("fill").Call(context.Background(), n)
	if err != nil || res[0] != n {
		t.Fatalf("fill(%d) = %v, %v", n, res, err)
	}
	if want := int64(n * (65536 >> ByteShift) / Allowance); y.calls.Load() != want {
		t.Fatalf("%d yields for %d fills of 64 KiB, want %d", y.calls.Load(), n, want)
	}
}

// TestTablesCapped: a table without a maximum gets MaxTableEntries, so
// table.grow past it returns -1; one that starts above is refused.
func TestTablesCapped(t *testing.T) {
	grow := body(0xD0, 0x70, 0x20, 0x00, 0xFC, 0x0F, 0x00, 0x0B) // table.grow(null, n)
	// grow takes a param: the body needs the (i32)->i32 type.
	wasm := mod(
		secType, vec(typeLoop),
		secFunction, vec([]byte{0}),
		secTable, vec([]byte{0x70, 0x00, 0x01}), // min 1, no max
		secExport, vec(export("grow", 0, 0)),
		secCode, vec(grow),
	)
	out, st, err := Instrument(wasm, Options{MaxTableEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	if st.TablesCapped != 1 || st.TableEntries != 100 {
		t.Fatalf("stats %+v, want 1 table capped at 100 entries", st)
	}
	var y yielder
	m, err := y.runtime(t).Instantiate(context.Background(), out)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	for _, c := range []struct{ n, want uint64 }{{99, 1}, {1, 0xFFFFFFFF}, {1 << 30, 0xFFFFFFFF}} {
		res, err := m.ExportedFunction("grow").Call(context.Background(), c.n)
		if err != nil || uint32(res[0]) != uint32(c.want) {
			t.Errorf("grow(%d) = %v, %v; want %d", c.n, res, err, int32(c.want))
		}
	}
	if _, _, err := Instrument(wasm, Options{MaxTableEntries: 0}); err != nil {
		t.Fatalf("no cap: %v", err)
	}
	big := mod(secTable, vec([]byte{0x70, 0x00, 0xE8, 0x07})) // min 1000
	if _, _, err := Instrument(big, Options{MaxTableEntries: 100}); !errors.Is(err, ErrTableLimit) || !strings.Contains(err.Error(), "1000 entries") {
		t.Fatalf("err %v, want ErrTableLimit naming 1000 entries", err)
	}
}

// TestChunkedBulk: memory.fill and memory.copy over Chunk go through the
// chunking helpers, which must do exactly what the instruction does
// (overlapping copies both ways, odd lengths, the trap before any write
// past the end of memory) and charge as they go.
func TestChunkedBulk(t *testing.T) {
	typ := []byte{0x60, 0x03, 0x7F, 0x7F, 0x7F, 0x00}
	wasm := mod(
		secType, vec(typ),
		secFunction, vec([]byte{0}, []byte{0}),
		secMemory, vec([]byte{0x00, 100}), // 6.25 MiB
		secExport, vec(export("fill", 0, 0), export("copy", 0, 1), export("mem", 2, 0)),
		secCode, vec(
			body(0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xFC, 0x0B, 0x00, 0x0B),
			body(0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xFC, 0x0A, 0x00, 0x00, 0x0B),
		),
	)
	out, st := instrument(t, wasm)
	if st.Bulk != 2 || st.Chunked != 2 {
		t.Fatalf("stats %+v, want 2 bulk instructions, both chunked", st)
	}
	ctx := context.Background()
	var y yielder
	m, err := y.runtime(t).Instantiate(ctx, out)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	size := int(m.Memory().Size())
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(i*7 + i>>11)
	}
	if !m.Memory().Write(0, want) {
		t.Fatal("write")
	}
	check := func(what string) {
		t.Helper()
		got, _ := m.Memory().Read(0, uint32(size))
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: byte %d is %d, want %d", what, i, got[i], want[i])
			}
		}
	}
	const mib = 1 << 20
	for _, c := range []struct {
		fn      string
		a, b, n int
	}{
		{"fill", 3, 0xAB, 5*mib + 3},
		{"copy", 0, mib + 5, 4*mib + 7},  // forward, overlapping
		{"copy", mib + 5, 0, 4*mib + 7},  // backward, overlapping
		{"copy", 10, 2 * mib, 2*mib + 1}, // disjoint
		{"fill", 0, 1, Chunk},            // exactly Chunk: inline
		{"copy", 17, 17, 3 * mib},        // onto itself
	} {
		before := y.calls.Load()
		if _, err := m.ExportedFunction(c.fn).Call(ctx, uint64(c.a), uint64(c.b), uint64(c.n)); err != nil {
			t.Fatalf("%s(%d, %d, %d): %v", c.fn, c.a, c.b, c.n, err)
		}
		if c.fn == "fill" {
			for i := c.a; i < c.a+c.n; i++ {
				want[i] = byte(c.b)
			}
		} else {
			copy(want[c.a:c.a+c.n], want[c.b:c.b+c.n])
		}
		check(c.fn)
		if c.n > 4*mib && y.calls.Load() == before {
			t.Errorf("%s of %d bytes without a yield", c.fn, c.n)
		}
	}
	// Past the end: the trap, and nothing written.
	for _, c := range [][3]uint64{
		{uint64(size - 10), 0xEE, 2 * mib}, // fill
		{0xFFFFFFF0, 0xEE, 2 * mib},        // fill, d+n wraps in 32 bits
	} {
		if _, err := m.ExportedFunction("fill").Call(ctx, c[0], c[1], c[2]); err == nil || !strings.Contains(err.Error(), "out of bounds") {
			t.Errorf("fill(%d, %d, %d) past the end: %v, want an out of bounds trap", c[0], c[1], c[2], err)
		}
	}
	if _, err := m.ExportedFunction("copy").Call(ctx, 0, uint64(size-mib), 2*mib); err == nil || !strings.Contains(err.Error(), "out of bounds") {
		t.Errorf("copy from past the end: %v, want an out of bounds trap", err)
	}
	check("after the traps")
}
