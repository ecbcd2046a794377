package interrupt

import (
	"errors"
	"fmt"
)

// reader decodes the WebAssembly binary format. Its methods return errors
// without context; callers add where they were.
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

// u32 reads an unsigned LEB128 of at most 5 bytes.
func (r *reader) u32() (uint32, error) {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift == 28 && c > 0x0F {
			return 0, errors.New("u32 LEB128 overflows")
		}
		v |= uint32(c&0x7F) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("u32 LEB128 too long")
}

// skipLEB skips a LEB128 (signed or unsigned) of at most max bytes.
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

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(int(n))
	return string(b), err
}

// limits skips table or memory limits (flags, min, optional max).
func (r *reader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 0x07 {
		return fmt.Errorf("unknown limits flags 0x%02x", flags)
	}
	if err := r.skipLEB(10); err != nil { // min (u64 for memory64)
		return err
	}
	if flags&0x01 != 0 {
		return r.skipLEB(10)
	}
	return nil
}

// valType skips one value type: the number, vector and reference types of
// the core spec. Typed references (GC proposal) are not supported.
func (r *reader) valType() error {
	t, err := r.byte()
	if err != nil {
		return err
	}
	switch t {
	case 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F, 0x69: // i32 i64 f32 f64 v128 funcref externref exnref
		return nil
	}
	return fmt.Errorf("%w: value type 0x%02x", ErrUnsupported, t)
}

// blockType skips a block type: empty (0x40), a value type, or a type
// index (s33).
func (r *reader) blockType() error {
	if r.off >= len(r.b) {
		return errEOF
	}
	switch c := r.b[r.off]; {
	case c == 0x40:
		r.off++
		return nil
	case c == 0x63 || c == 0x64: // (ref null? ht): GC proposal
		return fmt.Errorf("%w: typed reference block type", ErrUnsupported)
	case c >= 0x40 && c < 0x80: // a one-byte negative s33: a value type
		return r.valType()
	}
	return r.skipLEB(5) // type index as s33
}

func (r *reader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 { // multi-memory: memory index follows
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return r.skipLEB(10) // offset (u64 for memory64)
}

func (r *reader) skipU32s(n int) error {
	for i := 0; i < n; i++ {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// skipImmediates skips the immediates of the instruction whose first
// opcode byte op was just read. Opcodes are from the core spec 2.0 plus
// threads, tail calls and exception handling (legacy and exnref); loop,
// global.get and global.set are handled by the caller.
func (r *reader) skipImmediates(op byte) error {
	var err error
	switch {
	case op == 0x00, op == 0x01, op == 0x05, op == 0x0A, op == 0x0B, op == 0x0F,
		op == 0x19, op == 0x1A, op == 0x1B, op == 0xD1:
		// unreachable nop else throw_ref end return catch_all drop select ref.is_null
	case op == 0x02, op == 0x04, op == 0x06: // block if try
		err = r.blockType()
	case op == 0x07, op == 0x08, op == 0x09, op == 0x0C, op == 0x0D, op == 0x10,
		op == 0x12, op == 0x14, op == 0x15, op == 0x18, op == 0xD2:
		// catch throw rethrow br br_if call return_call call_ref return_call_ref delegate ref.func
		_, err = r.u32()
	case op == 0x0E: // br_table
		var n uint32
		if n, err = r.u32(); err == nil {
			err = r.skipU32s(int(n) + 1)
		}
	case op == 0x11, op == 0x13: // call_indirect return_call_indirect: type, table
		err = r.skipU32s(2)
	case op == 0x1C: // select t*
		var n uint32
		if n, err = r.u32(); err == nil {
			for i := uint32(0); i < n && err == nil; i++ {
				err = r.valType()
			}
		}
	case op == 0x1F: // try_table blocktype vec(catch)
		err = r.tryTable()
	case op >= 0x20 && op <= 0x22, op == 0x25, op == 0x26: // local.get/set/tee table.get/set
		_, err = r.u32()
	case op >= 0x28 && op <= 0x3E: // loads and stores
		err = r.memarg()
	case op == 0x3F, op == 0x40: // memory.size memory.grow
		_, err = r.u32()
	case op == 0x41: // i32.const
		err = r.skipLEB(5)
	case op == 0x42: // i64.const
		err = r.skipLEB(10)
	case op == 0x43:
		_, err = r.bytes(4)
	case op == 0x44:
		_, err = r.bytes(8)
	case op >= 0x45 && op <= 0xC4: // numeric, including sign extension
	case op == 0xD0: // ref.null heaptype
		err = r.heapType()
	case op == 0xFC:
		err = r.prefixFC()
	case op == 0xFD:
		err = r.prefixFD()
	case op == 0xFE:
		err = r.prefixFE()
	default:
		return fmt.Errorf("%w: unknown opcode 0x%02x", ErrUnsupported, op)
	}
	if err != nil && !errors.Is(err, ErrUnsupported) {
		err = fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return err
}

func (r *reader) heapType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x70, 0x6F, 0x69: // func extern exn
		return nil
	}
	return fmt.Errorf("%w: heap type 0x%02x", ErrUnsupported, c)
}

func (r *reader) tryTable() error {
	if err := r.blockType(); err != nil {
		return err
	}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00, 0x01: // catch, catch_ref: tag, label
			err = r.skipU32s(2)
		case 0x02, 0x03: // catch_all, catch_all_ref: label
			err = r.skipU32s(1)
		default:
			return fmt.Errorf("unknown catch kind 0x%02x", kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// prefixFC: saturating truncation, bulk memory and table instructions.
func (r *reader) prefixFC() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // trunc_sat
		return nil
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init memory.copy table.init table.copy
		return r.skipU32s(2)
	case sub == 9, sub == 11, sub == 13, sub >= 15 && sub <= 17: // data.drop memory.fill elem.drop table.grow/size/fill
		return r.skipU32s(1)
	}
	return fmt.Errorf("%w: unknown opcode 0xFC %d", ErrUnsupported, sub)
}

// prefixFD: fixed-width SIMD. The sub-opcode is read as one byte, as
// wazero (which runs the result) reads it: a spec LEB128 encoding of an
// opcode >= 128 then ends in 0x01, which both read as the next
// instruction, nop. What matters is finding the same instruction
// boundaries as the engine.
func (r *reader) prefixFD() error {
	sub, err := r.byte()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11, sub == 92, sub == 93: // v128 loads and stores, load32/64_zero
		return r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		_, err = r.bytes(16)
		return err
	case sub >= 21 && sub <= 34: // extract_lane / replace_lane
		_, err = r.byte()
		return err
	case sub >= 84 && sub <= 91: // load/store lane: memarg, lane
		if err := r.memarg(); err != nil {
			return err
		}
		_, err = r.byte()
		return err
	}
	return nil // the rest have no immediates
}

// prefixFE: threads (atomics); like wazero, the sub-opcode is one byte.
func (r *reader) prefixFE() error {
	sub, err := r.byte()
	if err != nil {
		return err
	}
	switch {
	case sub == 0x03: // atomic.fence: one zero byte
		_, err = r.byte()
		return err
	case sub <= 0x02, sub >= 0x10 && sub <= 0x4E:
		return r.memarg()
	}
	return fmt.Errorf("%w: unknown opcode 0xFE 0x%02x", ErrUnsupported, sub)
}
