package hook

// A fast path for ParseHookRequest: encoding/json spends ~9 µs (reflection,
// a validity pre-scan, one allocation per string) on a typical 700-byte
// Lumos body, more than everything else the gateway does for a hook call.
// parseHookFast decodes the common shape of the body in one pass, with the
// strings as substrings of one copy of the body and the request's parts in
// one allocation. It only ever returns a result identical to what
// json.Unmarshal would produce; for anything it does not handle the same way
// (a backslash escape or invalid UTF-8 in a string it keeps, a key that
// matches a field only case-insensitively or is not ASCII, a field given
// twice at the top level, a number that is not a plain integer, a value of the wrong type,
// deep nesting, any syntax error) it gives up and ParseHookRequest decodes
// with encoding/json, which also words the errors. request_fast_test.go
// checks the two against each other.

import (
	"strconv"
	"unicode/utf8"
)

// fastMaxDepth bounds the nesting parseHookFast skips through in unknown
// fields and custom_fields; deeper bodies go to encoding/json.
const fastMaxDepth = 64

// hookRequestBlock holds a decoded request and its parts in one allocation.
type hookRequestBlock struct {
	req    HookRequest
	app    HookApplication
	user   HookTargetUser
	length int64
	perms  [2]HookPermission
}

// fastScanner walks one body held as a string.
type fastScanner struct {
	s string
	i int
}

// parseHookFast decodes body (a JSON object) as json.Unmarshal into a
// HookRequest would, or returns false when it cannot promise that.
func parseHookFast(body []byte) (*HookRequest, bool) {
	sc := fastScanner{s: string(body)}
	blk := new(hookRequestBlock)
	r := &blk.req
	var seen uint8
	ok := sc.object(func(key string) bool {
		var bit uint8
		switch key {
		case "application":
			bit = 1
			ok, isNull := sc.objectOrNull(func(k string) bool { return sc.appField(&blk.app, k) })
			if !ok {
				return false
			}
			if !isNull {
				r.Application = &blk.app
			}
		case "permissions":
			bit = 2
			if !sc.permissions(r, blk.perms[:0]) {
				return false
			}
		case "target_user":
			bit = 4
			ok, isNull := sc.objectOrNull(func(k string) bool { return sc.userField(&blk.user, k) })
			if !ok {
				return false
			}
			if !isNull {
				r.TargetUser = &blk.user
			}
		case "access_length":
			bit = 8
			if sc.literal("null") {
				break
			}
			if !sc.int64(&blk.length) {
				return false
			}
			r.AccessLength = &blk.length
		case "custom_fields":
			bit = 16
			start := sc.i
			if !sc.skipValue(0) {
				return false
			}
			r.CustomFields = []byte(sc.s[start:sc.i])
		case "request_comment":
			bit = 32
			if !sc.stringField(&r.RequestComment) {
				return false
			}
		case "request_task_url":
			bit = 64
			if !sc.stringField(&r.RequestTaskURL) {
				return false
			}
		default:
			return sc.unknownField(key, hookRequestFields[:])
		}
		if seen&bit != 0 {
			return false // given twice: encoding/json merges objects and arrays, or resets them on null
		}
		seen |= bit
		return true
	})
	if !ok {
		return nil, false
	}
	sc.ws()
	if sc.i != len(sc.s) {
		return nil, false
	}
	return r, true
}

var (
	hookRequestFields = [...]string{"application", "permissions", "target_user", "access_length",
		"custom_fields", "request_comment", "request_task_url"}
	appFields  = [...]string{"app_id", "instance_id", "user_friendly_label"}
	userFields = [...]string{"email", "given_name", "family_name"}
	permFields = [...]string{"label", "value", "type", "source"}
)

// appField decodes one member of the application object.
func (sc *fastScanner) appField(a *HookApplication, key string) bool {
	switch key {
	case "app_id":
		return sc.stringField(&a.AppID)
	case "instance_id":
		return sc.stringField(&a.InstanceID)
	case "user_friendly_label":
		return sc.stringField(&a.UserFriendlyLabel)
	}
	return sc.unknownField(key, appFields[:])
}

// userField decodes one member of the target_user object.
func (sc *fastScanner) userField(u *HookTargetUser, key string) bool {
	switch key {
	case "email":
		return sc.stringField(&u.Email)
	case "given_name":
		return sc.stringField(&u.GivenName)
	case "family_name":
		return sc.stringField(&u.FamilyName)
	}
	return sc.unknownField(key, userFields[:])
}

// permField decodes one member of a permissions element.
func (sc *fastScanner) permField(p *HookPermission, key string) bool {
	switch key {
	case "label":
		return sc.stringField(&p.Label)
	case "value":
		return sc.stringField(&p.Value)
	case "type":
		return sc.stringField(&p.Type)
	case "source":
		return sc.stringField(&p.Source)
	}
	return sc.unknownField(key, permFields[:])
}

// permissions decodes the permissions array (or null) into r, appending to
// buf.
func (sc *fastScanner) permissions(r *HookRequest, buf []HookPermission) bool {
	if sc.literal("null") {
		return true
	}
	if sc.i >= len(sc.s) || sc.s[sc.i] != '[' {
		return false
	}
	sc.i++
	sc.ws()
	if sc.i < len(sc.s) && sc.s[sc.i] == ']' {
		sc.i++
		r.Permissions = buf // empty, not nil, as encoding/json leaves it
		return true
	}
	for {
		buf = append(buf, HookPermission{})
		p := &buf[len(buf)-1]
		if sc.i >= len(sc.s) || sc.s[sc.i] != '{' {
			return false
		}
		if !sc.object(func(k string) bool { return sc.permField(p, k) }) {
			return false
		}
		sc.ws()
		if sc.i >= len(sc.s) {
			return false
		}
		switch sc.s[sc.i] {
		case ',':
			sc.i++
			sc.ws()
		case ']':
			sc.i++
			r.Permissions = buf
			return true
		default:
			return false
		}
	}
}

// unknownField skips the value of a key that is not one of fields. A key
// encoding/json would match to one of fields case-insensitively (or that
// is not ASCII, where Unicode folding could apply) is not handled here.
func (sc *fastScanner) unknownField(key string, fields []string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return false
		}
	}
	for _, f := range fields {
		if asciiEqualFold(key, f) {
			return false
		}
	}
	return sc.skipValue(0)
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (sc *fastScanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// literal consumes lit (true, false, null) if it comes next.
func (sc *fastScanner) literal(lit string) bool {
	if len(sc.s)-sc.i >= len(lit) && sc.s[sc.i:sc.i+len(lit)] == lit {
		sc.i += len(lit)
		return true
	}
	return false
}

// object walks an object at sc.i (which must be '{'), calling member with
// each key with sc.i at its value; member consumes the value.
func (sc *fastScanner) object(member func(key string) bool) bool {
	if sc.i >= len(sc.s) || sc.s[sc.i] != '{' {
		return false
	}
	sc.i++
	sc.ws()
	if sc.i < len(sc.s) && sc.s[sc.i] == '}' {
		sc.i++
		return true
	}
	for {
		key, ok := sc.plainString()
		if !ok {
			return false
		}
		sc.ws()
		if sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
			return false
		}
		sc.i++
		sc.ws()
		if !member(key) {
			return false
		}
		sc.ws()
		if sc.i >= len(sc.s) {
			return false
		}
		switch sc.s[sc.i] {
		case ',':
			sc.i++
			sc.ws()
		case '}':
			sc.i++
			return true
		default:
			return false
		}
	}
}

// objectOrNull is object, also accepting null (isNull true).
func (sc *fastScanner) objectOrNull(member func(key string) bool) (ok, isNull bool) {
	if sc.literal("null") {
		return true, true
	}
	return sc.object(member), false
}

// plainString consumes a string at sc.i that has no escapes and is valid
// UTF-8, so its decoded value is its bytes, and returns that substring.
func (sc *fastScanner) plainString() (string, bool) {
	if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
		return "", false
	}
	start := sc.i + 1
	ascii := true
	for j := start; j < len(sc.s); j++ {
		switch c := sc.s[j]; {
		case c == '"':
			v := sc.s[start:j]
			if !ascii && !utf8.ValidString(v) {
				return "", false // encoding/json would replace the bad bytes
			}
			sc.i = j + 1
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// stringField decodes a string value; null leaves *dst as it is. A key
// given twice is decoded as encoding/json does it: the later string wins,
// a later null changes nothing.
func (sc *fastScanner) stringField(dst *string) bool {
	if sc.literal("null") {
		return true
	}
	v, ok := sc.plainString()
	if ok {
		*dst = v
	}
	return ok
}

// int64 decodes a plain integer (no fraction or exponent, which
// encoding/json refuses for an integer field) that fits an int64.
func (sc *fastScanner) int64(dst *int64) bool {
	start := sc.i
	j := sc.i
	if j < len(sc.s) && sc.s[j] == '-' {
		j++
	}
	switch {
	case j < len(sc.s) && sc.s[j] == '0':
		j++
	case j < len(sc.s) && '1' <= sc.s[j] && sc.s[j] <= '9':
		for j < len(sc.s) && '0' <= sc.s[j] && sc.s[j] <= '9' {
			j++
		}
	default:
		return false
	}
	if j < len(sc.s) {
		switch c := sc.s[j]; {
		case c == '.' || c == 'e' || c == 'E' || ('0' <= c && c <= '9'):
			return false
		}
	}
	n, err := strconv.ParseInt(sc.s[start:j], 10, 64)
	if err != nil {
		return false
	}
	*dst = n
	sc.i = j
	return true
}

// skipValue consumes one valid JSON value of any type.
func (sc *fastScanner) skipValue(depth int) bool {
	if sc.i >= len(sc.s) || depth > fastMaxDepth {
		return false
	}
	switch c := sc.s[sc.i]; {
	case c == '{':
		return sc.object(func(string) bool { return sc.skipValue(depth + 1) })
	case c == '[':
		sc.i++
		sc.ws()
		if sc.i < len(sc.s) && sc.s[sc.i] == ']' {
			sc.i++
			return true
		}
		for {
			if !sc.skipValue(depth + 1) {
				return false
			}
			sc.ws()
			if sc.i >= len(sc.s) {
				return false
			}
			switch sc.s[sc.i] {
			case ',':
				sc.i++
				sc.ws()
			case ']':
				sc.i++
				return true
			default:
				return false
			}
		}
	case c == '"':
		return sc.skipString()
	case c == 't':
		return sc.literal("true")
	case c == 'f':
		return sc.literal("false")
	case c == 'n':
		return sc.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return sc.skipNumber()
	}
	return false
}

// skipString consumes a string with any valid escapes. Like encoding/json's
// scanner it accepts any bytes >= 0x20 (invalid UTF-8 included).
func (sc *fastScanner) skipString() bool {
	for j := sc.i + 1; j < len(sc.s); j++ {
		switch c := sc.s[j]; {
		case c == '"':
			sc.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			j++
			if j >= len(sc.s) {
				return false
			}
			switch sc.s[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(sc.s) {
					return false
				}
				for k := j + 1; k <= j+4; k++ {
					if !isHex(sc.s[k]) {
						return false
					}
				}
				j += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// skipNumber consumes a number in JSON's grammar.
func (sc *fastScanner) skipNumber() bool {
	s, j := sc.s, sc.i
	digits := func() bool {
		k := j
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		return j > k
	}
	if s[j] == '-' {
		j++
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case j < len(s) && '1' <= s[j] && s[j] <= '9':
		digits()
	default:
		return false
	}
	if j < len(s) && s[j] == '.' {
		j++
		if !digits() {
			return false
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if !digits() {
			return false
		}
	}
	sc.i = j
	return true
}
