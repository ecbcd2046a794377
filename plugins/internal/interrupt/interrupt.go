// Package interrupt makes a WebAssembly module stoppable at low cost.
//
// wazero can stop a running guest when its context ends
// (RuntimeConfig.WithCloseOnContextDone), but in wazero v1.12 it does so by
// leaving compiled code for Go at every loop header, tens of nanoseconds
// each time. Go-compiled wasm enters a loop header on nearly every function
// call, so that check made a typical plugin call four times slower than
// the same call without it. Turning the check off is not an option: a
// guest that loops forever could not be stopped, and, because Go cannot
// preempt native code, it would also block every garbage collection's
// stop-the-world, freezing the whole process.
//
// Instrument rewrites a module so that it counts down a fuel global at
// every function entry and loop header, in wasm, and calls the imported
// host function YieldModule.YieldName when the count reaches zero:
//
//	global.get $fuel; i32.const 1; i32.sub; global.set $fuel
//	global.get $fuel; i32.eqz
//	if
//	  call $yield        ;; () -> i32: the host checks the deadline
//	  global.set $fuel   ;; and returns the next allowance
//	end
//
// That is a load, a store and a branch per check. The host's yield runs in
// Go, where it can end the call (by panicking with a sys.ExitError) and
// where the Go scheduler and garbage collector get their turn. Every path
// of unbounded length passes function entries or loop headers, so a guest
// reaches yield at least once per allowance. This is the scheme of
// wasmtime's fuel and epoch interruption.
//
// # Fuel by work
//
// A check costs one unit whatever the loop body does, and one bulk
// instruction can do megabytes of work: a loop whose body is one 32 MiB
// memory.fill ran 16k fills, many seconds, between two yields, and the
// garbage collector's stop-the-world waited for it. So each bulk
// instruction (memory.fill, memory.copy, memory.init, table.fill,
// table.copy, table.init, table.grow) is charged by its length, the i32 on
// top of the stack, before it runs:
//
//	local.tee $len       ;; a scratch i32 local added to the function
//	global.get $fuel; local.get $len; i32.const k; i32.shr_u; i32.sub
//	global.set $fuel
//	global.get $fuel; i32.const 0; i32.le_s
//	if call $yield; global.set $fuel end
//
// with k = ByteShift (one unit per 256 bytes) for memory and EntryShift
// (per 32 entries, 8 bytes of host memory each) for tables. An allowance
// is then at most Allowance checks plus Allowance<<ByteShift = 4 MiB of
// bulk memory work (or 512 Ki table entries), and the instruction that
// exhausts it is preceded by a yield, which can end the call before it
// runs.
//
// One instruction can still be long: a single memory.fill of 32 MiB (the
// default memory_limit) takes about 5 ms. So memory.fill and memory.copy
// on memory 0 with a length over Chunk (1 MiB) go to one of two helper
// functions the instrumenter appends to the module (after its own
// functions, so no index moves), which do the work Chunk bytes at a time,
// charging and yielding between pieces, forward or backward as an
// overlapping copy needs, with the instruction's own trap when a range
// runs past the end of memory:
//
//	local.tee $len; local.get $len; i32.const 255; i32.gt_u
//	if (param i32 i32 i32)
//	  <charge $len>
//	  local.get $len; i32.const Chunk; i32.gt_u
//	  if (param i32 i32 i32) call $chunked_fill else memory.fill end
//	else memory.fill end
//
// (a length under 256 is charged 0, so the short fills and copies Go's
// runtime does for nearly every copy and allocation take one branch).
//
// Not chunked: memory.init (bounded by its data segment, so by the module
// size limit), table instructions (bounded by the table limit, Options),
// memory.grow (one allocation, bounded by the memory limit), and bulk
// instructions on a memory other than 0.
//
// The bound, measured (TestYieldGapBounded and BenchmarkYieldGap in
// bound_test.go: endless loops of each kind, the host's yield recording
// the wall time between two of its calls; wazero v1.12 compiler, Go 1.26,
// on the project's 2-core VM while other builds ran): median time between
// two yields for a plain loop 16 µs; 64 KiB memory.fill 80 µs; 16 MiB
// memory.fill (chunked) 440 µs; 64 KiB memory.copy 95 µs; 8 MiB
// memory.copy (chunked) 230 µs; table.fill and table.copy of 64 Ki
// entries 150 µs. An allowance is thus at most about 0.5 ms of guest CPU.
// The worst gaps in those runs were larger (up to ~10 ms) when the VM
// descheduled the process or on first touch of fresh memory pages; those
// are wall-clock stalls of the whole process, not guest work the host
// could have interrupted.
//
// The new import takes function index ImportedFuncs (after the existing
// imports), so every reference to a defined function is renumbered: calls,
// ref.func, exports, the start function, element segments and the "name"
// section's function names. DWARF custom sections (".debug_*") and the
// name section's other subsections are dropped because they describe code
// offsets or indices that no longer hold.
package interrupt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The import Instrument adds: a function () -> i32 the host must provide.
// It is called with the guest's call context every Allowance checks; it
// returns the next allowance (normally Allowance) or aborts the call.
const (
	YieldModule = "hookgate.interrupt"
	YieldName   = "yield"
)

// Allowance is the number of checks (function entries and loop headers)
// between two yields. At a few nanoseconds per check it bounds the time a
// guest runs without the host's say to well under a millisecond, and
// costs one Go call per Allowance checks.
const Allowance = 16384

// ErrUnsupported is returned (wrapped) for a module Instrument cannot
// rewrite safely: an instruction or type encoding it does not know. The
// module may still be valid; the caller can fall back to another way of
// stopping it.
var ErrUnsupported = errors.New("module cannot be instrumented")

// ErrMalformed is returned (wrapped) for bytes that are not a well-formed
// WebAssembly binary.
var ErrMalformed = errors.New("malformed wasm binary")

// Section ids (WebAssembly core spec 5.5.2, plus the exception-handling
// tag section).
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// order is each non-custom section's position in a module; sections must
// appear in this order.
var order = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10,
	secDataCount: 11, secCode: 12, secData: 13,
}

type section struct {
	id   byte
	body []byte
}

// Stats says what Instrument did.
type Stats struct {
	// Functions is the number of function bodies rewritten.
	Functions int
	// Loops is the number of loop headers that received a check.
	Loops int
	// ImportedFuncs is the number of function imports before the yield
	// import, which is function index ImportedFuncs in the result.
	ImportedFuncs uint32
	// FuelIndex is the global index of the fuel counter.
	FuelIndex uint32
	// Bulk is the number of bulk memory and table instructions charged by
	// their length.
	Bulk int
	// Chunked is the number of those (memory.fill and memory.copy on
	// memory 0) that hand lengths over Chunk to a chunking helper.
	Chunked int
	// TablesCapped is the number of tables given Options.MaxTableEntries
	// as their maximum.
	TablesCapped int
	// TableEntries is how many entries the module's own tables can hold
	// together: their maxima if the module has a table.grow, else their
	// initial sizes (nothing else grows a table the module defines).
	TableEntries uint64
}

// Options adjusts Instrument. The zero value adds fuel checks only.
type Options struct {
	// MaxTableEntries, when not zero, caps every table the module defines:
	// a table whose declared maximum is absent or larger gets this
	// maximum, so table.grow past it fails (returns -1, as the spec allows
	// any grow to) without allocating. A table whose minimum is larger is
	// refused with ErrTableLimit.
	MaxTableEntries uint32
	// ChecksOnly instruments as before fuel by work: function entry and
	// loop checks only, no bulk charges or chunking helpers. It exists
	// for benchmarks that measure what fuel by work costs; never serve
	// with it.
	ChecksOnly bool
}

// ErrTableLimit is returned (wrapped) when a table's initial size is over
// Options.MaxTableEntries.
var ErrTableLimit = errors.New("table over the limit")

// rewriter carries the indices the rewrite needs.
type rewriter struct {
	opts       Options
	types      uint32   // type count before; the yield type is index types
	params     []uint32 // parameter count of each type
	funcs      []uint32 // type index of each defined function
	funcImport uint32   // function imports before; yield is index funcImport
	fuel       uint32   // fuel global index (= global count before)
	check      []byte   // the instruction sequence inserted at each check
	ins        []byte   // scratch: one body's rewritten instructions
	helpers    bool     // the module gets the chunked fill and copy helpers
	helperType uint32   // their type, (i32 i32 i32) -> ()
	fillFn     uint32   // function index of the chunked memory.fill
	copyFn     uint32   // and of the chunked memory.copy
	tableMin   uint64   // sum of the defined tables' initial sizes
	tableMax   uint64   // and of their maxima (1<<32-1 if absent)
	grows      bool     // the code has a table.grow
	st         Stats
}

// shift renumbers a function index for the inserted import.
func (w *rewriter) shift(idx uint32) uint32 {
	if idx >= w.funcImport {
		return idx + 1
	}
	return idx
}

// Instrument returns a copy of wasm with fuel checks added (see the
// package comment). wasm itself is not modified. Errors wrap ErrMalformed,
// ErrUnsupported or ErrTableLimit.
func Instrument(wasm []byte, opts Options) ([]byte, Stats, error) {
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, Stats{}, err
	}
	w := &rewriter{opts: opts}
	var globals, memories uint32
	var hasFuncs, hasCode bool
	for _, s := range secs {
		var err error
		switch s.id {
		case secType:
			w.params, err = countTypes(s.body)
			w.types = uint32(len(w.params))
		case secFunction:
			w.funcs, err = funcTypes(s.body)
			hasFuncs = true
		case secImport:
			var g, m uint32
			w.funcImport, g, m, err = countImports(s.body)
			globals += g
			memories += m
		case secMemory:
			r := reader{b: s.body}
			var n uint32
			n, err = r.u32()
			memories += n
		case secCode:
			hasCode = true
		case secGlobal:
			r := reader{b: s.body}
			var n uint32
			n, err = r.u32()
			globals += n
		}
		if err != nil {
			return nil, Stats{}, fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	w.fuel = globals
	if hasFuncs && hasCode && memories > 0 && !opts.ChecksOnly {
		// The chunked memory.fill and memory.copy helpers, after the
		// module's own functions (no index moves), of a new type
		// (i32 i32 i32) -> () after the yield's.
		w.helpers = true
		w.helperType = w.types + 1
		w.fillFn = w.funcImport + 1 + uint32(len(w.funcs))
		w.copyFn = w.fillFn + 1
	}
	w.st.ImportedFuncs, w.st.FuelIndex = w.funcImport, w.fuel
	w.check = w.checkSequence()

	out := make([]byte, 0, len(wasm)+len(wasm)/8+64)
	out = append(out, wasm[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	// Sections Instrument needs but the module lacks are created empty
	// just before the first section that must follow them.
	have := map[byte]bool{}
	for _, s := range secs {
		have[s.id] = true
	}
	needed := []byte{secType, secImport, secGlobal}
	ensure := func(before section) {
		for _, id := range needed {
			if !have[id] && (before.id == 0xFF || (before.id != secCustom && order[before.id] > order[id])) {
				have[id] = true
				b, err := w.rewrite(section{id: id, body: []byte{0}})
				if err != nil {
					panic(err) // an empty vector always rewrites
				}
				emit(id, b)
			}
		}
	}
	for _, s := range secs {
		ensure(s)
		if s.id == secCustom && dropCustom(s.body) {
			continue
		}
		body, err := w.rewrite(s)
		if err != nil {
			return nil, w.st, err
		}
		emit(s.id, body)
	}
	ensure(section{id: 0xFF})
	w.st.TableEntries = w.tableMin
	if w.grows {
		w.st.TableEntries = w.tableMax
	}
	return out, w.st, nil
}

// checkSequence is the code inserted at every check (see the package
// comment).
func (w *rewriter) checkSequence() []byte {
	fuel := binary.AppendUvarint(nil, uint64(w.fuel))
	var b []byte
	b = append(append(append(b, 0x23), fuel...), 0x41, 0x01, 0x6B) // global.get; i32.const 1; i32.sub
	b = append(append(b, 0x24), fuel...)                           // global.set
	b = append(append(b, 0x23), fuel...)                           // global.get
	b = append(b, 0x45, 0x04, 0x40, 0x10)                          // i32.eqz; if; call
	b = binary.AppendUvarint(b, uint64(w.funcImport))              // $yield
	b = append(append(b, 0x24), fuel...)                           // global.set
	return append(b, 0x0B)                                         // end
}

// rewrite returns one section's new body.
func (w *rewriter) rewrite(s section) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	switch s.id {
	case secType:
		b, err = appendVec(s.body, []byte{0x60, 0x00, 0x01, 0x7F}) // () -> i32
		if err == nil && w.helpers {
			b, err = appendVec(b, []byte{0x60, 0x03, 0x7F, 0x7F, 0x7F, 0x00}) // (i32 i32 i32) -> ()
		}
	case secFunction:
		b = s.body
		if w.helpers {
			b, err = appendVec(b, binary.AppendUvarint(nil, uint64(w.helperType)))
			if err == nil {
				b, err = appendVec(b, binary.AppendUvarint(nil, uint64(w.helperType)))
			}
		}
	case secImport:
		entry := appendName(nil, YieldModule)
		entry = appendName(entry, YieldName)
		entry = append(entry, 0x00)
		entry = binary.AppendUvarint(entry, uint64(w.types))
		b, err = appendVec(s.body, entry)
	case secGlobal:
		b, err = w.globals(s.body)
	case secExport:
		b, err = w.exports(s.body)
	case secStart:
		r := reader{b: s.body}
		var idx uint32
		if idx, err = r.u32(); err == nil && r.off != len(r.b) {
			err = fmt.Errorf("%w: trailing bytes", ErrMalformed)
		}
		b = binary.AppendUvarint(nil, uint64(w.shift(idx)))
	case secElement:
		b, err = w.elements(s.body)
	case secTable:
		b, err = w.tables(s.body)
	case secCode:
		b, err = w.code(s.body)
	case secCustom:
		b, err = w.custom(s.body)
	default:
		return s.body, nil
	}
	if err != nil {
		return nil, fmt.Errorf("section %d: %w", s.id, err)
	}
	return b, nil
}

// splitSections checks the header and returns the sections in order.
func splitSections(wasm []byte) ([]section, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%w: no \\0asm magic", ErrMalformed)
	}
	if v := binary.LittleEndian.Uint32(wasm[4:8]); v != 1 {
		return nil, fmt.Errorf("%w: binary format version %d, only version 1 is supported", ErrUnsupported, v)
	}
	r := reader{b: wasm, off: 8}
	var secs []section
	last := 0
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("%w: section %d size: %v", ErrMalformed, id, err)
		}
		body, err := r.bytes(int(size))
		if err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", ErrMalformed, id, err)
		}
		if id != secCustom {
			rank, ok := order[id]
			if !ok {
				return nil, fmt.Errorf("%w: unknown section id %d", ErrUnsupported, id)
			}
			if rank <= last {
				return nil, fmt.Errorf("%w: section %d out of order", ErrMalformed, id)
			}
			last = rank
		}
		secs = append(secs, section{id: id, body: body})
	}
	return secs, nil
}

// dropCustom reports whether a custom section describes code offsets
// (DWARF) and must go.
func dropCustom(body []byte) bool {
	r := reader{b: body}
	name, err := r.name()
	return err == nil && strings.HasPrefix(name, ".debug_")
}

// appendVec returns the vector body with one more raw entry at the end.
func appendVec(body, entry []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+len(entry)+5), uint64(n)+1)
	out = append(out, body[r.off:]...)
	return append(out, entry...), nil
}

func appendName(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// countTypes counts the type section's entries, which must all be plain
// function types (no GC-proposal recursion groups), and returns each
// one's parameter count.
func countTypes(body []byte) (params []uint32, err error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if int(n) > len(body) { // every entry takes at least one byte
		return nil, fmt.Errorf("%w: %d types in %d bytes", ErrMalformed, n, len(body))
	}
	params = make([]uint32, 0, n)
	for i := uint32(0); i < n; i++ {
		form, err := r.byte()
		if err != nil {
			return nil, fmt.Errorf("%w: type %d: %v", ErrMalformed, i, err)
		}
		if form != 0x60 {
			return nil, fmt.Errorf("%w: type %d has form 0x%02x, not a function type", ErrUnsupported, i, form)
		}
		for k := range 2 { // params, results
			m, err := r.u32()
			if err != nil {
				return nil, fmt.Errorf("%w: type %d: %v", ErrMalformed, i, err)
			}
			if k == 0 {
				params = append(params, m)
			}
			for j := uint32(0); j < m; j++ {
				if err := r.valType(); err != nil {
					return nil, fmt.Errorf("type %d: %w", i, err)
				}
			}
		}
	}
	return params, nil
}

// funcTypes reads the function section: each defined function's type
// index.
func funcTypes(body []byte) ([]uint32, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if int(n) > len(body) {
		return nil, fmt.Errorf("%w: %d functions in %d bytes", ErrMalformed, n, len(body))
	}
	idx := make([]uint32, n)
	for i := range idx {
		if idx[i], err = r.u32(); err != nil {
			return nil, fmt.Errorf("%w: function %d: %v", ErrMalformed, i, err)
		}
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("%w: trailing bytes after the functions", ErrMalformed)
	}
	return idx, nil
}

// countImports counts function and global imports, which come first in
// their index spaces.
func countImports(body []byte) (funcs, globals, memories uint32, err error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	for i := uint32(0); i < n; i++ {
		var mod, name string
		if mod, err = r.name(); err == nil {
			name, err = r.name()
		}
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%w: import %d: %v", ErrMalformed, i, err)
		}
		if mod == YieldModule {
			return 0, 0, 0, fmt.Errorf("%w: it already imports %s.%s (instrumented twice?)", ErrUnsupported, mod, name)
		}
		kind, err := r.byte()
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%w: import %d: %v", ErrMalformed, i, err)
		}
		switch kind {
		case 0x00: // func: type index
			_, err = r.u32()
			funcs++
		case 0x01: // table: reftype, limits
			if err = r.valType(); err == nil {
				err = r.limits()
			}
		case 0x02: // memory: limits
			err = r.limits()
			memories++
		case 0x03: // global: valtype, mutability
			if err = r.valType(); err == nil {
				_, err = r.byte()
			}
			globals++
		case 0x04: // tag: attribute, type index
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			err = fmt.Errorf("%w: unknown import kind 0x%02x", ErrMalformed, kind)
		}
		if err != nil {
			return 0, 0, 0, fmt.Errorf("import %d: %w", i, wrapMalformed(err))
		}
	}
	if r.off != len(r.b) {
		return 0, 0, 0, fmt.Errorf("%w: trailing bytes after the imports", ErrMalformed)
	}
	return funcs, globals, memories, nil
}

// wrapMalformed marks a bare decoding error as ErrMalformed.
func wrapMalformed(err error) error {
	if err == nil || errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupported) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// globals rewrites ref.func in initializers and appends the fuel global.
func (w *rewriter) globals(body []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	out := binary.AppendUvarint(nil, uint64(n)+1)
	for i := uint32(0); i < n; i++ {
		start := r.off
		if err := r.valType(); err != nil {
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
		if _, err := r.byte(); err != nil {
			return nil, fmt.Errorf("%w: global %d: %v", ErrMalformed, i, err)
		}
		out = append(out, body[start:r.off]...)
		if out, err = w.constExpr(out, &r); err != nil {
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("%w: trailing bytes after the globals", ErrMalformed)
	}
	out = append(out, 0x7F, 0x01, 0x41) // mut i32 = i32.const Allowance
	out = appendSLEB(out, Allowance)
	return append(out, 0x0B), nil
}

// appendSLEB appends v in signed LEB128 (i32.const's immediate).
func appendSLEB(dst []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}

// constExpr copies a constant expression (up to and including its end),
// renumbering ref.func.
func (w *rewriter) constExpr(out []byte, r *reader) ([]byte, error) {
	for {
		at := r.off
		op, err := r.byte()
		if err != nil {
			return nil, fmt.Errorf("%w: constant expression: %v", ErrMalformed, err)
		}
		switch op {
		case 0x0B:
			return append(out, op), nil
		case 0xD2: // ref.func
			idx, err := r.u32()
			if err != nil {
				return nil, fmt.Errorf("%w: ref.func: %v", ErrMalformed, err)
			}
			out = binary.AppendUvarint(append(out, op), uint64(w.shift(idx)))
			continue
		case 0x41, 0x42, 0x43, 0x44, 0x23, 0xD0, 0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E, 0xFD:
			// consts, global.get, ref.null, extended-const arithmetic, v128.const
			if op == 0x23 {
				if _, err = r.u32(); err != nil {
					return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
				}
			} else if err := r.skipImmediates(op); err != nil {
				return nil, err
			}
			out = append(out, r.b[at:r.off]...)
		default:
			return nil, fmt.Errorf("%w: opcode 0x%02x in a constant expression", ErrUnsupported, op)
		}
	}
}

// exports renumbers exported functions.
func (w *rewriter) exports(body []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+8), uint64(n))
	for i := uint32(0); i < n; i++ {
		start := r.off
		var kind byte
		var idx uint32
		_, err := r.name()
		if err == nil {
			kind, err = r.byte()
		}
		nameEnd := r.off
		if err == nil {
			idx, err = r.u32()
		}
		if err != nil {
			return nil, fmt.Errorf("%w: export %d: %v", ErrMalformed, i, err)
		}
		out = append(out, body[start:nameEnd]...)
		if kind == 0x00 {
			idx = w.shift(idx)
		}
		out = binary.AppendUvarint(out, uint64(idx))
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("%w: trailing bytes after the exports", ErrMalformed)
	}
	return out, nil
}

// elements renumbers the function indices of element segments (all eight
// encodings of the spec).
func (w *rewriter) elements(body []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+16), uint64(n))
	for i := uint32(0); i < n; i++ {
		if out, err = w.element(out, &r); err != nil {
			return nil, fmt.Errorf("element segment %d: %w", i, err)
		}
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("%w: trailing bytes after the element segments", ErrMalformed)
	}
	return out, nil
}

func (w *rewriter) element(out []byte, r *reader) ([]byte, error) {
	flags, err := r.u32()
	if err != nil {
		return nil, wrapMalformed(err)
	}
	if flags > 7 {
		return nil, fmt.Errorf("%w: flags %d", ErrMalformed, flags)
	}
	out = binary.AppendUvarint(out, uint64(flags))
	if flags&0x02 != 0 && flags&0x01 == 0 { // explicit table index
		idx, err := r.u32()
		if err != nil {
			return nil, wrapMalformed(err)
		}
		out = binary.AppendUvarint(out, uint64(idx))
	}
	if flags&0x01 == 0 { // active: offset expression
		if out, err = w.constExpr(out, r); err != nil {
			return nil, err
		}
	}
	if flags&0x03 != 0 { // elemkind (0x00) or reftype
		at := r.off
		if flags&0x04 == 0 {
			_, err = r.byte()
		} else {
			err = r.valType()
		}
		if err != nil {
			return nil, wrapMalformed(err)
		}
		out = append(out, r.b[at:r.off]...)
	}
	count, err := r.u32()
	if err != nil {
		return nil, wrapMalformed(err)
	}
	out = binary.AppendUvarint(out, uint64(count))
	for j := uint32(0); j < count; j++ {
		if flags&0x04 != 0 { // expressions
			if out, err = w.constExpr(out, r); err != nil {
				return nil, err
			}
			continue
		}
		idx, err := r.u32()
		if err != nil {
			return nil, wrapMalformed(err)
		}
		out = binary.AppendUvarint(out, uint64(w.shift(idx)))
	}
	return out, nil
}

// custom renumbers the "name" section's function names and drops its other
// subsections (local and label names are keyed by the old indices and are
// not needed for stack traces). Other custom sections are kept as is.
func (w *rewriter) custom(body []byte) ([]byte, error) {
	r := reader{b: body}
	name, err := r.name()
	if err != nil || name != "name" {
		return body, nil // a custom section we do not read
	}
	out := append([]byte(nil), body[:r.off]...)
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return body, nil
		}
		size, err := r.u32()
		if err != nil {
			return body, nil
		}
		sub, err := r.bytes(int(size))
		if err != nil {
			return nil, fmt.Errorf("%w: name subsection %d: %v", ErrMalformed, id, err)
		}
		switch id {
		case 0: // module name
		case 1: // function names
			if sub, err = w.functionNames(sub); err != nil {
				return nil, err
			}
		default:
			continue
		}
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(sub)))
		out = append(out, sub...)
	}
	return out, nil
}

func (w *rewriter) functionNames(sub []byte) ([]byte, error) {
	r := reader{b: sub}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: function names: %v", ErrMalformed, err)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(sub)+16), uint64(n))
	for i := uint32(0); i < n; i++ {
		idx, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("%w: function names: %v", ErrMalformed, err)
		}
		start := r.off
		if _, err := r.name(); err != nil {
			return nil, fmt.Errorf("%w: function names: %v", ErrMalformed, err)
		}
		out = binary.AppendUvarint(out, uint64(w.shift(idx)))
		out = append(out, sub[start:r.off]...)
	}
	return out, nil
}

// tables caps the tables' maxima at Options.MaxTableEntries and renumbers
// ref.func in table initializers.
func (w *rewriter) tables(body []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+8), uint64(n))
	for i := uint32(0); i < n; i++ {
		if out, err = w.table(out, &r); err != nil {
			return nil, fmt.Errorf("table %d: %w", i, err)
		}
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("%w: trailing bytes after the tables", ErrMalformed)
	}
	return out, nil
}

func (w *rewriter) table(out []byte, r *reader) ([]byte, error) {
	init := r.off < len(r.b) && r.b[r.off] == 0x40 // 0x40 0x00 tabletype expr
	if init {
		if _, err := r.bytes(2); err != nil {
			return nil, wrapMalformed(err)
		}
		out = append(out, 0x40, 0x00)
	}
	at := r.off
	if err := r.valType(); err != nil {
		return nil, wrapMalformed(err)
	}
	out = append(out, r.b[at:r.off]...)
	flags, err := r.byte()
	if err != nil {
		return nil, wrapMalformed(err)
	}
	if flags > 0x01 {
		return nil, fmt.Errorf("%w: table limits flags 0x%02x", ErrUnsupported, flags)
	}
	min, err := r.u32()
	if err != nil {
		return nil, wrapMalformed(err)
	}
	max, hasMax := uint32(0), flags == 0x01
	if hasMax {
		if max, err = r.u32(); err != nil {
			return nil, wrapMalformed(err)
		}
	}
	if limit := w.opts.MaxTableEntries; limit > 0 {
		if min > limit {
			return nil, fmt.Errorf("%w: initial size %d entries, the limit is %d", ErrTableLimit, min, limit)
		}
		if !hasMax || max > limit {
			max, hasMax = limit, true
			w.st.TablesCapped++
		}
	}
	w.tableMin += uint64(min)
	if hasMax {
		w.tableMax += uint64(max)
	} else {
		w.tableMax += 1<<32 - 1
	}
	if hasMax {
		out = binary.AppendUvarint(append(out, 0x01), uint64(min))
		out = binary.AppendUvarint(out, uint64(max))
	} else {
		out = binary.AppendUvarint(append(out, 0x00), uint64(min))
	}
	if init {
		return w.constExpr(out, r)
	}
	return out, nil
}

// code rewrites every function body.
func (w *rewriter) code(body []byte) ([]byte, error) {
	r := reader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	total := uint64(n)
	if w.helpers {
		total += 2
	}
	out := binary.AppendUvarint(make([]byte, 0, len(body)+len(body)/4+256), total)
	var fn []byte
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("%w: function body %d: %v", ErrMalformed, i, err)
		}
		code, err := r.bytes(int(size))
		if err != nil {
			return nil, fmt.Errorf("%w: function body %d: %v", ErrMalformed, i, err)
		}
		if fn, err = w.body(fn[:0], code, w.paramsOf(i)); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = binary.AppendUvarint(out, uint64(len(fn)))
		out = append(out, fn...)
		w.st.Functions++
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b)-r.off)
	}
	if w.helpers {
		for _, h := range [][]byte{w.fillHelper(), w.copyHelper()} {
			out = binary.AppendUvarint(out, uint64(len(h)))
			out = append(out, h...)
		}
	}
	return out, nil
}

// paramsOf is the parameter count of defined function i (0 when the
// module is inconsistent; the engine's validator then refuses it).
func (w *rewriter) paramsOf(i uint32) uint32 {
	if int(i) < len(w.funcs) && int(w.funcs[i]) < len(w.params) {
		return w.params[w.funcs[i]]
	}
	return 0
}

// Charges for bulk instructions: one unit of fuel per 1<<ByteShift bytes
// (memory.fill, memory.copy, memory.init) or per 1<<EntryShift table
// entries (table.fill, table.copy, table.init, table.grow; an entry is 8
// bytes of host memory). See the package comment for how they were chosen.
const (
	ByteShift  = 8
	EntryShift = ByteShift - 3
)

// Chunk is the most bytes one memory.fill or memory.copy does between two
// charges: a longer one is done Chunk bytes at a time by a helper the
// instrumenter adds, charging (and yielding when the fuel runs out) after
// each piece.
const Chunk = 1 << 20

// chunked reports whether op (the bytes of one 0xFC instruction) is a
// memory.fill or memory.copy on memory 0 that the module's helper can
// chunk, and the helper's function index.
func (w *rewriter) chunked(op []byte) (uint32, bool) {
	switch {
	case !w.helpers:
	case string(op) == "\xFC\x0B\x00":
		return w.fillFn, true
	case string(op) == "\xFC\x0A\x00\x00":
		return w.copyFn, true
	}
	return 0, false
}

// appendChunkCharge appends the charge for one Chunk done by a helper.
func (w *rewriter) appendChunkCharge(b []byte) []byte {
	b = binary.AppendUvarint(append(b, 0x23), uint64(w.fuel))
	b = appendSLEB(append(b, 0x41), Chunk>>ByteShift)
	b = binary.AppendUvarint(append(b, 0x6B, 0x24), uint64(w.fuel))
	b = binary.AppendUvarint(append(b, 0x23), uint64(w.fuel))
	b = append(b, 0x41, 0x00, 0x4C, 0x04, 0x40, 0x10)
	b = binary.AppendUvarint(b, uint64(w.funcImport))
	b = binary.AppendUvarint(append(b, 0x24), uint64(w.fuel))
	return append(b, 0x0B)
}

// Instruction bytes of the helpers (params $d = 0, $v or $s = 1, $n = 2).
var (
	getD, getS, getN = []byte{0x20, 0x00}, []byte{0x20, 0x01}, []byte{0x20, 0x02}
	opFill           = []byte{0xFC, 0x0B, 0x00}
	opCopy           = []byte{0xFC, 0x0A, 0x00, 0x00}
)

// appendPastEnd appends "(u64)$a + (u64)$n > memory size in bytes".
func appendPastEnd(b, getA []byte) []byte {
	b = append(append(b, getA...), 0xAD)                       // i64.extend_i32_u
	b = append(append(b, getN...), 0xAD, 0x7C)                 // i64.add
	return append(b, 0x3F, 0x00, 0xAD, 0x42, 0x10, 0x86, 0x56) // memory.size; <<16; i64.gt_u
}

func appendChunkConst(b []byte) []byte { return appendSLEB(append(b, 0x41), Chunk) }

// appendAdvance appends "$x = $x + Chunk" (or minus) for local x.
func appendAdvance(b []byte, x byte, sub bool) []byte {
	op := byte(0x6A)
	if sub {
		op = 0x6B
	}
	b = appendChunkConst(append(b, 0x20, x))
	return append(b, op, 0x21, x)
}

// fillHelper is the body of (func (param $d $v $n i32)): memory.fill in
// Chunk pieces, with the spec's trap (before any write) when it would run
// past the end of memory.
//
//	if $d + $n > size: memory.fill($d, $v, $n); return   ;; traps
//	loop: if $n > Chunk: memory.fill($d, $v, Chunk); $d += Chunk;
//	      $n -= Chunk; charge; br loop
//	memory.fill($d, $v, $n)
func (w *rewriter) fillHelper() []byte {
	b := []byte{0x00} // no locals
	b = append(appendPastEnd(b, getD), 0x04, 0x40)
	b = append(append(append(append(b, getD...), getS...), getN...), opFill...)
	b = append(b, 0x0F, 0x0B, 0x03, 0x40)
	b = append(appendChunkConst(append(b, getN...)), 0x4B, 0x04, 0x40)
	b = appendChunkConst(append(append(b, getD...), getS...))
	b = append(b, opFill...)
	b = appendAdvance(b, 0, false)
	b = appendAdvance(b, 2, true)
	b = w.appendChunkCharge(b)
	b = append(b, 0x0C, 0x01, 0x0B, 0x0B) // br 1 (the loop); end if; end loop
	b = append(append(append(append(b, getD...), getS...), getN...), opFill...)
	return append(b, 0x0B)
}

// copyHelper is the body of (func (param $d $s $n i32)): memory.copy in
// Chunk pieces, forward when $d <= $s and backward otherwise, so that an
// overlapping copy reads every byte before it is overwritten, with the
// spec's trap when either range runs past the end of memory.
func (w *rewriter) copyHelper() []byte {
	b := []byte{0x00}
	b = appendPastEnd(b, getD)
	b = appendPastEnd(b, getS)
	b = append(b, 0x72, 0x04, 0x40) // i32.or; if
	b = append(append(append(append(b, getD...), getS...), getN...), opCopy...)
	b = append(b, 0x0F, 0x0B)
	b = append(append(append(b, getD...), getS...), 0x4D, 0x04, 0x40) // $d <= $s: forward
	b = append(b, 0x03, 0x40)
	b = append(appendChunkConst(append(b, getN...)), 0x4B, 0x04, 0x40)
	b = appendChunkConst(append(append(b, getD...), getS...))
	b = append(b, opCopy...)
	b = appendAdvance(b, 0, false)
	b = appendAdvance(b, 1, false)
	b = appendAdvance(b, 2, true)
	b = w.appendChunkCharge(b)
	b = append(b, 0x0C, 0x01, 0x0B, 0x0B)
	b = append(b, 0x05, 0x03, 0x40) // else: backward
	b = append(appendChunkConst(append(b, getN...)), 0x4B, 0x04, 0x40)
	b = appendAdvance(b, 2, true)
	b = append(append(append(b, getD...), getN...), 0x6A) // $d + $n
	b = append(append(append(b, getS...), getN...), 0x6A) // $s + $n
	b = append(appendChunkConst(b), opCopy...)
	b = w.appendChunkCharge(b)
	b = append(b, 0x0C, 0x01, 0x0B, 0x0B)
	b = append(b, 0x0B) // end if
	b = append(append(append(append(b, getD...), getS...), getN...), opCopy...)
	return append(b, 0x0B)
}

// bulkShift reports whether 0xFC sub-opcode sub is a bulk instruction
// whose length (the i32 on top of the stack) is charged, and its shift.
func bulkShift(sub uint32) (uint32, bool) {
	switch sub {
	case 8, 10, 11: // memory.init memory.copy memory.fill
		return ByteShift, true
	case 12, 14, 15, 17: // table.init table.copy table.grow table.fill
		return EntryShift, true
	}
	return 0, false
}

// appendCharge appends the charge for a bulk instruction whose length is
// on top of the stack (and stays there), using scratch local t (already
// holding the length unless tee):
//
//	local.tee $t
//	global.get $fuel; local.get $t; i32.const shift; i32.shr_u; i32.sub
//	global.set $fuel
//	global.get $fuel; i32.const 0; i32.le_s
//	if call $yield; global.set $fuel end
func (w *rewriter) appendCharge(b []byte, t, shift uint32, tee bool) []byte {
	if tee {
		b = binary.AppendUvarint(append(b, 0x22), uint64(t))
	}
	b = binary.AppendUvarint(append(b, 0x23), uint64(w.fuel))
	b = binary.AppendUvarint(append(b, 0x20), uint64(t))
	b = append(b, 0x41, byte(shift), 0x76, 0x6B)
	b = binary.AppendUvarint(append(b, 0x24), uint64(w.fuel))
	b = binary.AppendUvarint(append(b, 0x23), uint64(w.fuel))
	b = append(b, 0x41, 0x00, 0x4C, 0x04, 0x40, 0x10)
	b = binary.AppendUvarint(b, uint64(w.funcImport))
	b = binary.AppendUvarint(append(b, 0x24), uint64(w.fuel))
	return append(b, 0x0B)
}

// body appends to dst the function body code with a check after its
// locals and after every loop's block type, a charge before every bulk
// instruction, and with function indices renumbered. It decodes every
// instruction, to find opcode boundaries, and refuses guest references to
// the fuel global. params is the function's parameter count: a body with
// bulk instructions gets one more i32 local, index params + its locals.
func (w *rewriter) body(dst, code []byte, params uint32) ([]byte, error) {
	r := reader{b: code}
	groups, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("%w: locals: %v", ErrMalformed, err)
	}
	groupsEnd := r.off
	locals := uint64(params)
	for g := uint32(0); g < groups; g++ {
		n, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("%w: locals: %v", ErrMalformed, err)
		}
		locals += uint64(n)
		if err := r.valType(); err != nil {
			return nil, fmt.Errorf("locals: %w", wrapMalformed(err))
		}
	}
	localsEnd := r.off
	ins := append(w.ins[:0], w.check...)
	copied, bulk := r.off, false
	for r.off < len(r.b) {
		at := r.off
		op, err := r.byte()
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x03: // loop blocktype
			if err := r.blockType(); err != nil {
				return nil, fmt.Errorf("at offset %d: %w", at, wrapMalformed(err))
			}
			ins = append(ins, code[copied:r.off]...)
			ins = append(ins, w.check...)
			copied = r.off
			w.st.Loops++
		case 0x10, 0x12, 0xD2: // call, return_call, ref.func
			idx, err := r.u32()
			if err != nil {
				return nil, fmt.Errorf("%w: at offset %d: %v", ErrMalformed, at, err)
			}
			ins = append(ins, code[copied:at+1]...)
			ins = binary.AppendUvarint(ins, uint64(w.shift(idx)))
			copied = r.off
		case 0x23, 0x24: // global.get, global.set
			idx, err := r.u32()
			if err != nil {
				return nil, fmt.Errorf("%w: at offset %d: %v", ErrMalformed, at, err)
			}
			if idx >= w.fuel {
				return nil, fmt.Errorf("%w: at offset %d: global index %d does not exist", ErrMalformed, at, idx)
			}
		case 0xFC:
			sub, err := r.u32()
			if err != nil {
				return nil, fmt.Errorf("%w: at offset %d: %v", ErrMalformed, at, err)
			}
			r.off = at + 1
			if err := r.skipImmediates(op); err != nil {
				return nil, fmt.Errorf("at offset %d (opcode 0xFC %d): %w", at, sub, err)
			}
			shift, ok := bulkShift(sub)
			if !ok || w.opts.ChecksOnly {
				break
			}
			if locals >= 1<<32-1 {
				return nil, fmt.Errorf("%w: %d locals leave no index for the bulk charge's scratch local", ErrUnsupported, locals)
			}
			w.grows = w.grows || sub == 15
			ins = append(ins, code[copied:at]...)
			copied = at
			bulk = true
			w.st.Bulk++
			op := code[at:r.off]
			helper, ok := w.chunked(op)
			if !ok {
				ins = w.appendCharge(ins, uint32(locals), shift, true)
				break
			}
			// memory.fill and memory.copy: Go's runtime does one for
			// nearly every copy and allocation, mostly short, so those
			// under 1<<ByteShift bytes (charged 0 anyway) take one
			// branch; a length over Chunk goes to the helper, which does
			// it Chunk bytes at a time with a charge after each:
			//   local.tee $len; local.get $len; i32.const 255; i32.gt_u
			//   if (type helper)
			//     <charge $len>
			//     local.get $len; i32.const Chunk; i32.gt_u
			//     if (type helper) call $helper else <op> end
			//   else <op> end
			bt := appendSLEB(nil, int64(w.helperType))
			ins = binary.AppendUvarint(append(ins, 0x22), uint64(locals))
			ins = binary.AppendUvarint(append(ins, 0x20), uint64(locals))
			ins = append(appendSLEB(append(ins, 0x41), 1<<ByteShift-1), 0x4B, 0x04)
			ins = append(ins, bt...)
			ins = w.appendCharge(ins, uint32(locals), shift, false)
			ins = binary.AppendUvarint(append(ins, 0x20), uint64(locals))
			ins = append(appendSLEB(append(ins, 0x41), Chunk), 0x4B, 0x04)
			ins = append(ins, bt...)
			ins = binary.AppendUvarint(append(ins, 0x10), uint64(helper))
			ins = append(append(append(ins, 0x05), op...), 0x0B)
			ins = append(append(append(ins, 0x05), op...), 0x0B)
			copied = r.off
			w.st.Chunked++
		default:
			if err := r.skipImmediates(op); err != nil {
				return nil, fmt.Errorf("at offset %d (opcode 0x%02x): %w", at, op, err)
			}
		}
	}
	if len(code) == 0 || code[len(code)-1] != 0x0B {
		return nil, fmt.Errorf("%w: body does not end with end", ErrMalformed)
	}
	ins = append(ins, code[copied:]...)
	w.ins = ins
	if bulk {
		dst = binary.AppendUvarint(dst, uint64(groups)+1)
		dst = append(dst, code[groupsEnd:localsEnd]...)
		dst = append(dst, 0x01, 0x7F) // one i32: the scratch local
	} else {
		dst = append(dst, code[:localsEnd]...)
	}
	return append(dst, ins...), nil
}

// CapTables returns a copy of wasm with only its table section rewritten
// as Instrument does under opts (maxima capped at opts.MaxTableEntries),
// for a module Instrument cannot rewrite. Errors wrap ErrMalformed,
// ErrUnsupported or ErrTableLimit.
func CapTables(wasm []byte, opts Options) ([]byte, error) {
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, err
	}
	w := &rewriter{opts: opts}
	out := make([]byte, 0, len(wasm)+16)
	out = append(out, wasm[:8]...)
	for _, s := range secs {
		body := s.body
		if s.id == secTable {
			if body, err = w.tables(body); err != nil {
				return nil, fmt.Errorf("section %d: %w", s.id, err)
			}
		}
		out = append(out, s.id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	return out, nil
}
