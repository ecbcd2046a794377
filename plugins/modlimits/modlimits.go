// Package modlimits bounds what a WebAssembly module may declare before
// the runtime compiles it.
//
// wazero's compile time and memory grow with what a module declares, not
// only with its size: locals are run-length encoded, so a 155-byte module
// can ask for 2³²−1 locals (32 M of them took 2.7 s and 805 MB to
// compile), and a vector's declared length is trusted by decoders that
// allocate it up front. Check reads a module's section headers, vector
// counts and function bodies' local declarations, without decoding
// instructions and without allocating, and refuses a module over any of
// its Limits with an error naming the limit and the value. A module that
// passes costs the compiler at most a bounded multiple of its size.
//
// Tables: a table entry is 8 bytes of host memory that no linear-memory
// limit covers, and table.grow can ask for 2³²−2 of them at once. Check
// refuses a table whose initial size is over MaxTableEntries; the plugin
// host caps the maximum of every table at MaxTableEntries (see
// plugins/internal/interrupt.Options) and reserves that memory out of the
// plugin's memory_limit.
package modlimits

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits are the bounds Check enforces. The toml keys are those of
// gateway.toml's [plugins] table and of each [[plugin]] table; a zero
// field means "the default" (see Or).
type Limits struct {
	// MaxModuleBytes bounds the .wasm file. Default 64 MiB.
	MaxModuleBytes int64 `toml:"max_module_bytes"`
	// MaxCodeBytes bounds the code section (all function bodies).
	// Default 32 MiB.
	MaxCodeBytes int64 `toml:"max_code_bytes"`
	// MaxFunctions bounds the functions the module defines. Default
	// 100000.
	MaxFunctions int64 `toml:"max_functions"`
	// MaxLocalsPerFunction bounds one function's locals (parameters not
	// counted). Default 50000.
	MaxLocalsPerFunction int64 `toml:"max_locals_per_function"`
	// MaxLocals bounds the locals of all functions together. Default
	// 2000000.
	MaxLocals int64 `toml:"max_locals"`
	// MaxTableEntries bounds every table: its initial size (or the module
	// is refused) and its maximum (capped by the host), at 8 bytes of
	// host memory per entry, counted against memory_limit. Default 131072
	// (1 MiB).
	MaxTableEntries int64 `toml:"max_table_entries"`
}

// Default returns the default limits: comfortably above what real
// plugins declare (a Go plugin with the SDK: 3.5 MB, 2.2 MB of code,
// about 2 200 functions, a table of 6 334 entries), far below what hurts
// the host.
func Default() Limits {
	return Limits{
		MaxModuleBytes:       64 << 20,
		MaxCodeBytes:         32 << 20,
		MaxFunctions:         100_000,
		MaxLocalsPerFunction: 50_000,
		MaxLocals:            2_000_000,
		MaxTableEntries:      1 << 17,
	}
}

// Ceilings above which Validate refuses a limit: beyond them the limit no
// longer protects the host.
var ceilings = Limits{
	MaxModuleBytes:       1 << 30,
	MaxCodeBytes:         1 << 30,
	MaxFunctions:         1 << 24,
	MaxLocalsPerFunction: 1 << 20,
	MaxLocals:            1 << 26,
	MaxTableEntries:      1 << 24,
}

// Or returns l with its zero fields taken from def.
func (l Limits) Or(def Limits) Limits {
	for _, f := range l.fields() {
		if *f.v == 0 {
			*f.v = *def.field(f.key)
		}
	}
	return l
}

type field struct {
	key string
	v   *int64
}

// fields lists l's fields by toml key; the pointers are into l.
func (l *Limits) fields() []field {
	return []field{
		{"max_module_bytes", &l.MaxModuleBytes},
		{"max_code_bytes", &l.MaxCodeBytes},
		{"max_functions", &l.MaxFunctions},
		{"max_locals_per_function", &l.MaxLocalsPerFunction},
		{"max_locals", &l.MaxLocals},
		{"max_table_entries", &l.MaxTableEntries},
	}
}

func (l *Limits) field(key string) *int64 {
	for _, f := range l.fields() {
		if f.key == key {
			return f.v
		}
	}
	panic("modlimits: no field " + key)
}

// Validate reports the first field that is negative or above its
// ceiling, by toml key. Zero is valid (it means the default).
func (l Limits) Validate() error {
	for _, f := range l.fields() {
		top := *ceilings.field(f.key)
		switch {
		case *f.v < 0:
			return fmt.Errorf("%s: must not be negative, got %d", f.key, *f.v)
		case *f.v > top:
			return fmt.Errorf("%s: %d is above %d, beyond which it no longer protects the gateway", f.key, *f.v, top)
		}
	}
	return nil
}

// ErrLimit is returned (wrapped) for a module over one of the Limits.
var ErrLimit = errors.New("module over a limit")

// ErrMalformed is returned (wrapped) for bytes Check cannot read as a
// WebAssembly binary.
var ErrMalformed = errors.New("malformed wasm binary")

// Summary is what Check counted.
type Summary struct {
	Bytes     int64 // module size
	CodeBytes int64 // code section size
	Functions int64 // defined functions
	Locals    int64 // locals of all functions
	// MaxFunctionLocals is the most locals one function declares.
	MaxFunctionLocals int64
	// Tables are the initial sizes of the tables the module defines;
	// Unbounded counts those without a maximum at or below
	// MaxTableEntries.
	Tables    []uint32
	Unbounded int
	// TableEntries is the sum of the tables' maxima, each capped at
	// MaxTableEntries.
	TableEntries int64
}

// Check verifies wasm against l (zero fields mean Default's values) and
// returns what it counted. Errors wrap ErrLimit or ErrMalformed and name
// the limit's toml key and the module's value. It allocates only the
// Summary.
func Check(wasm []byte, l Limits) (Summary, error) {
	l = l.Or(Default())
	s := Summary{Bytes: int64(len(wasm))}
	if s.Bytes > l.MaxModuleBytes {
		return s, fmt.Errorf("%w: the module is %d bytes, max_module_bytes is %d", ErrLimit, s.Bytes, l.MaxModuleBytes)
	}
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return s, fmt.Errorf("%w: no \\0asm magic", ErrMalformed)
	}
	r := reader{b: wasm, off: 8}
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return s, malformed(err)
		}
		size, err := r.u32()
		if err != nil {
			return s, fmt.Errorf("%w: section %d size: %v", ErrMalformed, id, err)
		}
		body, err := r.bytes(int(size))
		if err != nil {
			return s, fmt.Errorf("%w: section %d: %v", ErrMalformed, id, err)
		}
		if id == 0 || id == 8 || id == 12 { // custom, start, data count: no vector
			continue
		}
		sr := reader{b: body}
		n, err := sr.u32()
		if err != nil {
			return s, fmt.Errorf("%w: section %d: count: %v", ErrMalformed, id, err)
		}
		if int64(n) > int64(len(body)) { // every entry takes at least one byte
			return s, fmt.Errorf("%w: section %d declares %d entries in %d bytes", ErrMalformed, id, n, len(body))
		}
		switch id {
		case 3: // function
			s.Functions = int64(n)
			if s.Functions > l.MaxFunctions {
				return s, fmt.Errorf("%w: the module defines %d functions, max_functions is %d", ErrLimit, s.Functions, l.MaxFunctions)
			}
		case 4: // table
			if err := s.tables(&sr, n, l); err != nil {
				return s, err
			}
		case 10: // code
			s.CodeBytes = int64(len(body))
			if s.CodeBytes > l.MaxCodeBytes {
				return s, fmt.Errorf("%w: the code section is %d bytes, max_code_bytes is %d", ErrLimit, s.CodeBytes, l.MaxCodeBytes)
			}
			if int64(n) > l.MaxFunctions {
				return s, fmt.Errorf("%w: the code section has %d function bodies, max_functions is %d", ErrLimit, n, l.MaxFunctions)
			}
			if err := s.code(&sr, n, l); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// code sums each body's run-length encoded locals.
func (s *Summary) code(r *reader, n uint32, l Limits) error {
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return fmt.Errorf("%w: function body %d: %v", ErrMalformed, i, err)
		}
		b, err := r.bytes(int(size))
		if err != nil {
			return fmt.Errorf("%w: function body %d: %v", ErrMalformed, i, err)
		}
		br := reader{b: b}
		groups, err := br.u32()
		if err != nil {
			return fmt.Errorf("%w: function body %d: locals: %v", ErrMalformed, i, err)
		}
		if int64(groups) > int64(len(b)) {
			return fmt.Errorf("%w: function body %d declares %d local groups in %d bytes", ErrMalformed, i, groups, len(b))
		}
		var locals int64 // at most 2^32 groups of 2^32-1: fits, but stop early
		for g := uint32(0); g < groups; g++ {
			c, err := br.u32()
			if err == nil {
				err = br.valType()
			}
			if err != nil {
				return fmt.Errorf("%w: function body %d: locals: %v", ErrMalformed, i, err)
			}
			locals += int64(c)
			if locals > l.MaxLocalsPerFunction {
				return fmt.Errorf("%w: function body %d declares %d or more locals, max_locals_per_function is %d", ErrLimit, i, locals, l.MaxLocalsPerFunction)
			}
		}
		s.MaxFunctionLocals = max(s.MaxFunctionLocals, locals)
		s.Locals += locals
		if s.Locals > l.MaxLocals {
			return fmt.Errorf("%w: the functions up to body %d declare %d locals, max_locals is %d", ErrLimit, i, s.Locals, l.MaxLocals)
		}
	}
	return nil
}

// tables checks each table's limits.
func (s *Summary) tables(r *reader, n uint32, l Limits) error {
	for i := uint32(0); i < n; i++ {
		init := r.off < len(r.b) && r.b[r.off] == 0x40
		if init {
			r.off += 2
		}
		if err := r.valType(); err != nil {
			return fmt.Errorf("%w: table %d: %v", ErrMalformed, i, err)
		}
		flags, err := r.byte()
		if err != nil {
			return fmt.Errorf("%w: table %d: %v", ErrMalformed, i, err)
		}
		min, err := r.u32()
		if err != nil {
			return fmt.Errorf("%w: table %d: %v", ErrMalformed, i, err)
		}
		max := int64(-1)
		if flags&0x01 != 0 {
			m, err := r.u32()
			if err != nil {
				return fmt.Errorf("%w: table %d: %v", ErrMalformed, i, err)
			}
			max = int64(m)
		}
		if int64(min) > l.MaxTableEntries {
			return fmt.Errorf("%w: table %d starts with %d entries, max_table_entries is %d", ErrLimit, i, min, l.MaxTableEntries)
		}
		if len(s.Tables) < 16 {
			s.Tables = append(s.Tables, min)
		}
		if max < 0 || max > l.MaxTableEntries {
			s.Unbounded++
			max = l.MaxTableEntries
		}
		s.TableEntries += max
		if init {
			if err := r.constExpr(); err != nil {
				return fmt.Errorf("%w: table %d initializer: %v", ErrMalformed, i, err)
			}
		}
	}
	return nil
}

func malformed(err error) error { return fmt.Errorf("%w: %v", ErrMalformed, err) }

// reader decodes the binary format; its errors carry no context.
type reader struct {
	b   []byte
	off int
}

var errEOF = errors.New("unexpected end of input")

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errEOF
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, errEOF
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b, nil
}

func (r *reader) u32() (uint32, error) {
	if r.off >= len(r.b) {
		return 0, errEOF
	}
	v, n := binary.Uvarint(r.b[r.off:min(len(r.b), r.off+5)])
	if n <= 0 || v > 1<<32-1 {
		return 0, errors.New("bad u32 LEB128")
	}
	r.off += n
	return uint32(v), nil
}

func (r *reader) skipLEB(max int) error {
	for i := 0; i < max; i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return errors.New("LEB128 too long")
}

// valType skips a value type, including a typed reference's heap type.
func (r *reader) valType() error {
	t, err := r.byte()
	if err != nil {
		return err
	}
	if t == 0x63 || t == 0x64 { // (ref null? heaptype)
		return r.skipLEB(5)
	}
	return nil
}

// constExpr skips a constant expression of the opcodes wazero accepts
// there.
func (r *reader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0B:
			return nil
		case 0x41, 0x23, 0xD2, 0xD0: // i32.const global.get ref.func ref.null
			err = r.skipLEB(5)
		case 0x42:
			err = r.skipLEB(10)
		case 0x43:
			_, err = r.bytes(4)
		case 0x44:
			_, err = r.bytes(8)
		case 0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E: // extended const
		default:
			return fmt.Errorf("opcode 0x%02x in a constant expression", op)
		}
		if err != nil {
			return err
		}
	}
}
