package modlimits

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if err := (Limits{}).Validate(); err != nil {
		t.Fatalf("zero (= defaults): %v", err)
	}
	for _, c := range []struct {
		l    Limits
		want string
	}{
		{Limits{MaxLocals: -1}, "max_locals: must not be negative, got -1"},
		{Limits{MaxTableEntries: 1 << 30}, "max_table_entries: 1073741824 is above"},
		{Limits{MaxModuleBytes: 2 << 30}, "max_module_bytes:"},
	} {
		if err := c.l.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.l, err, c.want)
		}
	}
	if got := (Limits{MaxFunctions: 7}).Or(Default()); got.MaxFunctions != 7 || got.MaxLocals != Default().MaxLocals {
		t.Errorf("Or: %+v", got)
	}
}

// TestCountsMatchBytes: a vector declaring more entries than its section
// has bytes is refused before anything is allocated for it.
func TestCountsMatchBytes(t *testing.T) {
	hdr := []byte("\x00asm\x01\x00\x00\x00")
	for _, c := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"functions", append(hdr, 3, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F), "declares 4294967295 entries in 5 bytes"},
		{"local groups", append(hdr, 10, 7, 1, 5, 0xFF, 0xFF, 0x03, 0x7F, 0x0B), "65535 local groups in 5 bytes"},
		{"section past the end", append(hdr, 1, 100, 0), "section 1"},
	} {
		_, err := Check(c.wasm, Limits{})
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want ErrMalformed containing %q", c.name, err, c.want)
		}
	}
}
