package sdk

// A small reflection-free JSON reader and writer for the ABI documents.
//
// Why not encoding/json: Go compiled to wasm runs several times slower than
// native code, and every function entry and loop iteration also pays the
// host's termination check (sdk/ABI.md section 8). encoding/json's
// two-pass, reflection-driven decoding makes thousands of calls and
// iterations per document; this single-pass reader makes about one per
// input byte, and inline hook requests skip JSON entirely when the host
// passes them flat (flat.go).

import (
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// jreader reads one JSON document held in a string; decoded strings
// without escapes are substrings of it (no allocation).
type jreader struct {
	b   string
	i   int
	err error
}

// newReader reads b, copying it once into a string.
func newReader(b []byte) *jreader { return &jreader{b: string(b)} }

// newReaderOwned reads b without copying; b must never change afterwards.
func newReaderOwned(b []byte) *jreader {
	if len(b) == 0 {
		return &jreader{}
	}
	return &jreader{b: unsafe.String(&b[0], len(b))}
}

// eq reports a == b for short b without a loop (each guest loop
// iteration is costly; the runtime's string comparison loops per byte).
func eq(a, b string) bool {
	switch {
	case len(a) != len(b):
		return false
	case len(a) < 8:
		return tail(a) == tail(b)
	case len(a) < 16:
		return load8(a) == load8(b) && tail(a[8:]) == tail(b[8:])
	case len(a) < 24:
		return load8(a) == load8(b) && load8(a[8:]) == load8(b[8:]) && tail(a[16:]) == tail(b[16:])
	}
	return a == b
}

// load8 reads the first 8 bytes of s (len(s) >= 8) as a little-endian
// word (wasm is little-endian).
func load8(s string) uint64 { return *(*uint64)(unsafe.Pointer(unsafe.StringData(s))) }

// tail packs the (fewer than 8) bytes of s into a word.
func tail(s string) uint64 {
	var w uint64
	switch len(s) {
	case 7:
		w |= uint64(s[6]) << 48
		fallthrough
	case 6:
		w |= uint64(s[5]) << 40
		fallthrough
	case 5:
		w |= uint64(s[4]) << 32
		fallthrough
	case 4:
		w |= uint64(s[3]) << 24
		fallthrough
	case 3:
		w |= uint64(s[2]) << 16
		fallthrough
	case 2:
		w |= uint64(s[1]) << 8
		fallthrough
	case 1:
		w |= uint64(s[0])
	}
	return w
}

// SWAR constants: test 8 bytes per loop iteration, since each iteration
// of a guest loop is costly under the host's termination check.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// special marks (high bit per byte) the bytes of x that are '"', '\\' or
// control characters. Borrows can add false marks, but only above a true
// one, so the lowest mark is always right.
func special(x uint64) uint64 {
	q := x ^ (swarLo * '"')
	b := x ^ (swarLo * '\\')
	return ((q-swarLo)&^q | (b-swarLo)&^b | (x-swarLo*0x20)&^x) & swarHi
}

// plainUntil returns the index of the first '"', '\\' or control byte in
// s at or after i (len(s) if none), 8 bytes per step and with no
// per-byte loop.
func plainUntil(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := special(load8(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	n := len(s) - i
	if n == 0 {
		return i
	}
	// Pad the tail with 'a' so the missing bytes do not look like
	// control characters.
	w := tail(s[i:]) | (swarLo*'a')&^(1<<(8*uint(n))-1)
	if m := special(w); m != 0 {
		return i + bits.TrailingZeros64(m)>>3
	}
	return len(s)
}

func (r *jreader) fail(what string) {
	if r.err == nil {
		r.err = errors.New("json: " + what + " at offset " + strconv.Itoa(r.i))
	}
	r.i = len(r.b)
}

func (r *jreader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (r *jreader) peek() byte {
	if r.i < len(r.b) && r.b[r.i] > ' ' {
		return r.b[r.i] // the common case, without entering ws's loop
	}
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

func (r *jreader) expect(c byte) bool {
	if r.peek() != c {
		r.fail("expected '" + string(c) + "'")
		return false
	}
	r.i++
	return true
}

// null consumes a literal null if present.
func (r *jreader) null() bool {
	if r.peek() == 'n' && r.i+4 <= len(r.b) && r.b[r.i:r.i+4] == "null" {
		r.i += 4
		return true
	}
	return false
}

// object calls fn for each key; fn must consume the value.
func (r *jreader) object(fn func(key string)) {
	if r.null() {
		return
	}
	if !r.expect('{') {
		return
	}
	if r.peek() == '}' {
		r.i++
		return
	}
	for r.err == nil {
		key := r.str()
		if !r.expect(':') {
			return
		}
		fn(key)
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return
		default:
			r.fail("expected ',' or '}'")
		}
	}
}

// array calls fn for each element; fn must consume it. It reports
// whether an array (not null) was read, so callers can tell [] from null
// the way encoding/json does.
func (r *jreader) array(fn func()) bool {
	if r.null() {
		return false
	}
	if !r.expect('[') {
		return false
	}
	if r.peek() == ']' {
		r.i++
		return true
	}
	for r.err == nil {
		fn()
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return true
		default:
			r.fail("expected ',' or ']'")
		}
	}
	return false
}

// str reads a string (null reads as "").
func (r *jreader) str() string {
	if r.null() {
		return ""
	}
	if !r.expect('"') {
		return ""
	}
	start := r.i
	i := plainUntil(r.b, r.i)
	if i < len(r.b) && r.b[i] == '"' {
		r.i = i + 1
		return r.b[start:i]
	}
	r.i = i
	return r.strSlow(start)
}

func (r *jreader) strSlow(start int) string {
	buf := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return string(buf)
		case c < 0x20:
			r.fail("control character in string")
			return ""
		case c != '\\':
			buf = append(buf, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.b) {
			break
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			cp := r.hex4()
			if utf16.IsSurrogate(cp) && r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
				r.i += 2
				cp = utf16.DecodeRune(cp, r.hex4())
			}
			buf = utf8.AppendRune(buf, cp)
		default:
			r.fail("bad escape")
			return ""
		}
	}
	r.fail("unterminated string")
	return ""
}

func (r *jreader) hex4() rune {
	if r.i+4 > len(r.b) {
		r.fail("short \\u escape")
		return 0
	}
	v, err := strconv.ParseUint(r.b[r.i:r.i+4], 16, 32)
	if err != nil {
		r.fail("bad \\u escape")
		return 0
	}
	r.i += 4
	return rune(v)
}

// number returns the literal text of a number.
func (r *jreader) number() string {
	r.ws()
	start := r.i
	for r.i < len(r.b) {
		c := r.b[r.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			r.i++
			continue
		}
		break
	}
	if start == r.i {
		r.fail("expected a number")
	}
	return r.b[start:r.i]
}

// int64p reads an integer or null.
func (r *jreader) int64p() *int64 {
	v, ok := r.int64v()
	if !ok {
		return nil
	}
	return &v
}

// int64v reads an integer; ok is false for null (and on errors, which are
// recorded). Plain decimal integers of up to 18 digits are parsed inline,
// one loop iteration per digit and without strconv, whose generality
// costs thousands of guest branches (each a host termination check);
// anything else takes the general path.
func (r *jreader) int64v() (int64, bool) {
	if r.null() {
		return 0, false
	}
	i := r.i
	neg := i < len(r.b) && r.b[i] == '-'
	if neg {
		i++
	}
	start := i
	var v int64
	for i < len(r.b) && i-start < 18 {
		d := r.b[i] - '0'
		if d > 9 {
			break
		}
		v = v*10 + int64(d)
		i++
	}
	if i > start && (i == len(r.b) || notNumberByte(r.b[i])) {
		r.i = i
		if neg {
			v = -v
		}
		return v, true
	}
	s := r.number()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			r.fail("expected an integer")
			return 0, false
		}
		v = int64(f)
	}
	return v, true
}

// notNumberByte reports whether c cannot continue a JSON number.
func notNumberByte(c byte) bool {
	return (c < '0' || c > '9') && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-'
}

func (r *jreader) boolean() bool {
	switch {
	case r.peek() == 't' && r.i+4 <= len(r.b) && r.b[r.i:r.i+4] == "true":
		r.i += 4
		return true
	case r.peek() == 'f' && r.i+5 <= len(r.b) && r.b[r.i:r.i+5] == "false":
		r.i += 5
		return false
	case r.null():
		return false
	}
	r.fail("expected a boolean")
	return false
}

// strings reads an array of strings (null: nil).
func (r *jreader) strings() []string {
	var out []string
	if r.array(func() { out = append(out, r.str()) }) && out == nil {
		out = []string{}
	}
	return out
}

// stringMap reads an object of strings.
func (r *jreader) stringMap() map[string]string {
	var out map[string]string
	r.object(func(k string) {
		if out == nil {
			out = map[string]string{}
		}
		out[k] = r.str()
	})
	return out
}

// any reads any value the way encoding/json decodes into an interface:
// objects as map[string]any, arrays as []any, numbers as float64.
func (r *jreader) any() any {
	switch c := r.peek(); {
	case c == '{':
		m := map[string]any{}
		r.object(func(k string) { m[k] = r.any() })
		return m
	case c == '[':
		a := []any{}
		r.array(func() { a = append(a, r.any()) })
		return a
	case c == '"':
		return r.str()
	case c == 't' || c == 'f':
		return r.boolean()
	case c == 'n':
		if r.null() {
			return nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		f, err := strconv.ParseFloat(r.number(), 64)
		if err != nil {
			r.fail("bad number")
		}
		return f
	}
	r.fail("unexpected character")
	return nil
}

// skip consumes one value of any type.
func (r *jreader) skip() {
	switch c := r.peek(); {
	case c == '{':
		r.object(func(string) { r.skip() })
	case c == '[':
		r.array(r.skip)
	case c == '"':
		r.skipStr()
	default:
		r.any()
	}
}

func (r *jreader) skipStr() {
	r.i++ // opening quote, checked by the caller
	for r.i < len(r.b) {
		r.i = plainUntil(r.b, r.i)
		if r.i >= len(r.b) {
			break
		}
		switch r.b[r.i] {
		case '"':
			r.i++
			return
		case '\\':
			r.i += 2
		default:
			r.fail("control character in string")
			return
		}
	}
	r.fail("unterminated string")
}

// end checks only white space follows the document.
func (r *jreader) end() error {
	if r.err == nil && r.peek() != 0 {
		r.fail("trailing data")
	}
	return r.err
}

// appendStr appends s as a JSON string.
func appendStr(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
