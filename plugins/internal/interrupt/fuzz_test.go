package interrupt

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzInstrument: on arbitrary bytes Instrument never panics, and what it
// returns is a module it can parse again, with exactly one more loop
// check per loop.
func FuzzInstrument(f *testing.F) {
	f.Add(spinModule())
	f.Add(mod(secType, vec(typeVoid), secFunction, vec([]byte{0}), secStart, []byte{0}, secCode, vec(body(0x03, 0x40, 0x0B, 0x0B))))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, st, err := Instrument(wasm, Options{})
		if err != nil {
			return
		}
		out2, st2, err := Instrument(out, Options{})
		if err == nil {
			t.Fatalf("instrumenting twice succeeded (%+v, %d bytes): the export name must be refused", st2, len(out2))
		}
		if _, err := splitSections(out); err != nil {
			t.Fatalf("output does not parse: %v (stats %+v)", err, st)
		}
	})
}

// FuzzInstrumentBody puts the input as the body of one function
// (i32, i32) -> i32 with one i32 local in a fixed module with a memory, a
// table and a global, and checks against wazero's validator: a body wazero
// accepts is either instrumented into a module wazero accepts, or refused
// as ErrUnsupported, never as malformed.
func FuzzInstrumentBody(f *testing.F) {
	for _, b := range [][]byte{
		{0x20, 0x00, 0x0B},
		{0x03, 0x40, 0x0C, 0x00, 0x0B, 0x41, 0x00, 0x0B},
		{0x02, 0x7F, 0x03, 0x7F, 0x41, 0x01, 0x0B, 0x0B, 0x0B},
		{0x20, 0x00, 0x28, 0x02, 0x00, 0x20, 0x01, 0x6A, 0x0B},
		{0x23, 0x00, 0x03, 0x40, 0x20, 0x02, 0x0D, 0x00, 0x0B, 0x0B},
		{0x41, 0x00, 0x0E, 0x01, 0x00, 0x00, 0x0B},
		{0xFD, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFD, 0x1B, 0x00, 0x0B},
		{0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xFC, 0x0B, 0x00, 0x41, 0x00, 0x0B},
		{0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xFC, 0x0A, 0x00, 0x00, 0x41, 0x00, 0x0B},             // memory.copy
		{0xD0, 0x70, 0x41, 0x01, 0xFC, 0x0F, 0x00, 0x0B},                                           // table.grow
		{0x41, 0x00, 0xD0, 0x70, 0x41, 0x01, 0xFC, 0x11, 0x00, 0x41, 0x00, 0x0B},                   // table.fill
		{0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xFC, 0x0E, 0x00, 0x00, 0x20, 0x02, 0x0B},             // table.copy
		{0x03, 0x40, 0x41, 0x00, 0x41, 0x00, 0x20, 0x00, 0xFC, 0x0B, 0x00, 0x0B, 0x41, 0x00, 0x0B}, // loop fill
	} {
		f.Add(b)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, code []byte) {
		fn := append([]byte{0x01, 0x01, 0x7F}, code...) // one i32 local
		wasm := mod(
			secType, vec([]byte{0x60, 0x02, 0x7F, 0x7F, 0x01, 0x7F}),
			secFunction, vec([]byte{0}),
			secTable, vec([]byte{0x70, 0x00, 0x01}),
			secMemory, vec([]byte{0x00, 0x01}),
			secGlobal, vec([]byte{0x7F, 0x01, 0x41, 0x07, 0x0B}),
			secExport, vec(export("f", 0, 0)),
			secCode, vec(cat(leb(len(fn)), fn)),
		)
		orig, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			return
		}
		orig.Close(ctx)
		out, _, err := Instrument(wasm, Options{MaxTableEntries: 1 << 16})
		if err != nil {
			if errorsIsUnsupported(err) {
				return
			}
			t.Fatalf("wazero accepts the body but Instrument calls it malformed: %v", err)
		}
		cm, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero accepts the original but not the instrumented module: %v", err)
		}
		cm.Close(ctx)
	})
}

func leb(n int) []byte { return binary.AppendUvarint(nil, uint64(n)) }

func errorsIsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }
