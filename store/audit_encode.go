package store

// Allocation-free encoding of audit records for the group-commit writer.
// appendAuditJSON writes exactly what encoding/json.Marshal writes for an
// AuditRecord (same field order, omitempty, HTML-safe escaping, invalid
// UTF-8 as \ufffd), so records read back with encoding/json as before; the
// tests check the two against each other.

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendInvertedTime appends t as 16 hex digits of MaxUint64 - UnixNano,
// so that later times sort first.
func appendInvertedTime(dst []byte, t time.Time) []byte {
	n := math.MaxUint64 - uint64(t.UnixNano())
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[(n>>uint(shift))&0xF])
	}
	return dst
}

// appendLower appends s lower-cased as strings.ToLower would.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(dst, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendAuditJSON appends r encoded as encoding/json.Marshal(r) would.
func appendAuditJSON(dst []byte, r *AuditRecord) ([]byte, error) {
	start := len(dst)
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, r.ID)
	dst = append(dst, `,"time":"`...)
	out, err := r.Time.AppendText(dst)
	if err != nil {
		// A time RFC 3339 cannot represent: let encoding/json say so.
		_, err = json.Marshal(r)
		return dst[:start], err
	}
	dst = out
	dst = append(dst, `","kind":`...)
	dst = appendJSONString(dst, r.Kind)
	dst = append(dst, `,"app_id":`...)
	dst = appendJSONString(dst, r.AppID)
	if r.InstanceID != "" {
		dst = append(dst, `,"instance_id":`...)
		dst = appendJSONString(dst, r.InstanceID)
	}
	dst = append(dst, `,"permissions":`...)
	if r.Permissions == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, p := range r.Permissions {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, p)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"user":`...)
	dst = appendJSONString(dst, r.User)
	if r.Plugin != "" {
		dst = appendJSONString(append(dst, `,"plugin":`...), r.Plugin)
	}
	dst = append(dst, `,"decision":`...)
	dst = appendJSONString(dst, r.Decision)
	if r.Response != "" {
		dst = appendJSONString(append(dst, `,"response":`...), r.Response)
	}
	if r.Message != "" {
		dst = appendJSONString(append(dst, `,"message":`...), r.Message)
	}
	dst = strconv.AppendInt(append(dst, `,"duration_ns":`...), int64(r.Duration), 10)
	if r.Error != "" {
		dst = appendJSONString(append(dst, `,"error":`...), r.Error)
	}
	if len(r.Logs) > 0 {
		dst = append(dst, `,"logs":[`...)
		for i, l := range r.Logs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, l)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"via":`...)
	dst = appendJSONString(dst, r.Via)
	return append(dst, '}'), nil
}

// appendJSONString appends s as a JSON string the way encoding/json does
// with HTML escaping on (its default): ", \ and control characters
// escaped, <, > and & as \u003c, \u003e and \u0026, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
