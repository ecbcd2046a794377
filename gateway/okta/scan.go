package okta

// A single-pass fast path for ParseEnvelope. It validates the body as JSON
// once, splits data.events, and decodes each event's state-carrying fields
// in the same pass, without reflection, maps or re-scanning. It handles the
// shape Okta actually sends; whenever it meets anything else (an escaped or
// duplicated key, a field of an unexpected JSON type, an escaped or
// non-UTF-8 string, deep nesting, any syntax error) it gives up, and the
// encoding/json reference path (parseEnvelopeRef, parseEvent) decides, for
// the whole body or for that one event. Results are therefore identical to
// the reference path by construction, which FuzzParseEnvelope checks.

import (
	"bytes"
	"errors"
	"time"
	"unicode/utf8"
)

// errSlow means "the fast path does not handle this; use the reference".
var errSlow = errors.New("okta: fast parser declined")

// maxFastDepth bounds nesting on the fast path (encoding/json allows 10000;
// anything deeper than this goes to the reference path, which decides).
const maxFastDepth = 512

// scanner walks a JSON document. Every method returns errSlow on anything it
// does not accept, never a partial answer.
type scanner struct {
	b []byte
	i int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) ws() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// peek returns the next non-space byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// str scans a string token at s.i and returns its contents when it has no
// escapes and is valid UTF-8 (so that encoding/json would decode it to the
// same bytes); plain is false for other well-formed strings.
func (s *scanner) str() (v []byte, plain bool, err error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, errSlow
	}
	start := s.i + 1
	plain = true
	ascii := true
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			v = s.b[start:j]
			if plain && !ascii && !utf8.Valid(v) {
				plain = false
			}
			return v, plain, nil
		case c == '\\':
			plain = false
			j++
			if j >= len(s.b) {
				return nil, false, errSlow
			}
			switch s.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s.b) {
					return nil, false, errSlow
				}
				for k := j + 1; k <= j+4; k++ {
					if !isHex(s.b[k]) {
						return nil, false, errSlow
					}
				}
				j += 4
			default:
				return nil, false, errSlow
			}
		case c < 0x20:
			return nil, false, errSlow
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false, errSlow
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skip scans one value of any type, checking its syntax.
func (s *scanner) skip(depth int) error {
	if depth > maxFastDepth {
		return errSlow
	}
	switch s.peek() {
	case '"':
		_, _, err := s.str()
		return err
	case '{':
		s.i++
		if s.peek() == '}' {
			s.i++
			return nil
		}
		for {
			s.ws()
			if _, _, err := s.str(); err != nil {
				return err
			}
			if s.peek() != ':' {
				return errSlow
			}
			s.i++
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return nil
			default:
				return errSlow
			}
		}
	case '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return errSlow
			}
		}
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		return s.num()
	}
}

func (s *scanner) lit(w string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		return errSlow
	}
	s.i += len(w)
	return nil
}

// num scans a number with JSON's grammar.
func (s *scanner) num() error {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return errSlow
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return errSlow
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return errSlow
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	s.i = i
	return nil
}

// object calls field for each key of the object at s.i; field must consume
// the value. Keys with escapes are declined (encoding/json would unescape
// them before matching).
func (s *scanner) object(field func(key []byte) error) error {
	if s.peek() != '{' {
		return errSlow
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		k, plain, err := s.str()
		if err != nil || !plain {
			return errSlow
		}
		if s.peek() != ':' {
			return errSlow
		}
		s.i++
		s.ws()
		if err := field(k); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errSlow
		}
	}
}

// keyIs matches an object key to a field name the way encoding/json does
// (exact or case-insensitive).
func keyIs(k []byte, name string) bool {
	return len(k) == len(name) && (string(k) == name || bytes.EqualFold(k, []byte(name)))
}

// strOrNull reads a plain string or null (null reads as "", as
// encoding/json leaves a string field untouched). Anything else is declined.
func (s *scanner) strOrNull() ([]byte, error) {
	if s.peek() == 'n' {
		return nil, s.lit("null")
	}
	v, plain, err := s.str()
	if err != nil || !plain {
		return nil, errSlow
	}
	return v, nil
}

// parseEnvelopeFast is ParseEnvelope's fast path; errSlow means the
// reference path must decide.
func parseEnvelopeFast(body []byte) (*Batch, error) {
	s := scanner{b: body}
	var (
		evType             []byte
		eventID            []byte
		elems              [][2]int // data.events element spans
		sawData, sawEvents bool
		sawType, sawID     bool
		sawOther           [5]bool
	)
	others := [...]string{"eventTypeVersion", "cloudEventsVersion", "source", "eventTime", "contentType"}
	err := s.object(func(k []byte) error {
		var err error
		switch {
		case keyIs(k, "eventType"):
			if sawType {
				return errSlow
			}
			sawType = true
			evType, err = s.strOrNull()
			return err
		case keyIs(k, "eventId"):
			if sawID {
				return errSlow
			}
			sawID = true
			eventID, err = s.strOrNull()
			return err
		case keyIs(k, "data"):
			if sawData {
				return errSlow
			}
			sawData = true
			return s.object(func(k []byte) error {
				if !keyIs(k, "events") {
					return s.skip(2)
				}
				if sawEvents || s.peek() != '[' {
					return errSlow // a duplicate, null or not an array
				}
				sawEvents = true
				s.i++
				elems = make([][2]int, 0, 64)
				if s.peek() == ']' {
					s.i++
					return nil
				}
				for {
					s.ws()
					start := s.i
					if err := s.skip(3); err != nil {
						return err
					}
					elems = append(elems, [2]int{start, s.i})
					switch s.peek() {
					case ',':
						s.i++
					case ']':
						s.i++
						return nil
					default:
						return errSlow
					}
				}
			})
		}
		for j, name := range others {
			if keyIs(k, name) {
				if sawOther[j] {
					return errSlow
				}
				sawOther[j] = true
				_, err := s.strOrNull()
				return err
			}
		}
		return s.skip(1)
	})
	if err != nil {
		return nil, errSlow
	}
	if !s.end() {
		return nil, errSlow // trailing data: the reference names it
	}
	if string(evType) != EventHookType || !sawEvents {
		return nil, errSlow // every envelope-level refusal is worded by the reference
	}
	b := &Batch{EnvelopeID: string(eventID), Events: make([]*LogEvent, 0, len(elems))}
	evs := make([]LogEvent, len(elems))
	// One backing array for the targets of the whole batch (Okta sends a
	// handful per event).
	tgts := make([]Target, 0, 2*len(elems))
	for i, sp := range elems {
		raw := body[sp[0]:sp[1]:sp[1]]
		ev := &evs[i]
		var err error
		if tgts, err = parseEventFast(raw, ev, tgts); err != nil {
			ref, rerr := parseEvent(raw)
			if rerr != nil {
				b.Rejected = append(b.Rejected, RejectedEvent{Index: i, Reason: rerr.Error(), Raw: raw})
				continue
			}
			ev = ref
		}
		ev.index = i
		b.Events = append(b.Events, ev)
	}
	return b, nil
}

// parseEventFast decodes one event into ev, appending its targets to tgts.
// Any error (errSlow or a validation failure) sends the event to parseEvent,
// which accepts it or words the rejection.
func parseEventFast(raw []byte, ev *LogEvent, tgts []Target) ([]Target, error) {
	raw = raw[:len(raw):len(raw)] // field values locate themselves by cap (see sub)
	s := scanner{b: raw}
	var (
		uuid, evType, pub, version, msg []byte
		result, reason                  []byte
		seen                            uint16
		tbuf                            [4][4][]byte
		tspans                          = tbuf[:0] // id, type, alternateId, displayName
		actor                           [4][]byte
		seenA                           uint8
	)
	once := func(bit uint16) error {
		if seen&bit != 0 {
			return errSlow
		}
		seen |= bit
		return nil
	}
	// required reads a field that must be a non-empty plain string.
	required := func(bit uint16, dst *[]byte) error {
		if err := once(bit); err != nil {
			return err
		}
		v, plain, err := s.str()
		if err != nil || !plain || len(v) == 0 {
			return errSlow
		}
		*dst = v
		return nil
	}
	loose := func(bit uint16, dst *[]byte) error {
		if err := once(bit); err != nil {
			return err
		}
		v, err := s.strOrNull()
		*dst = v
		return err
	}
	err := s.object(func(k []byte) error {
		switch {
		case keyIs(k, "uuid"):
			return required(1<<0, &uuid)
		case keyIs(k, "eventType"):
			return required(1<<1, &evType)
		case keyIs(k, "published"):
			return required(1<<2, &pub)
		case keyIs(k, "version"):
			return loose(1<<3, &version)
		case keyIs(k, "displayMessage"):
			return loose(1<<4, &msg)
		case keyIs(k, "outcome"):
			if err := once(1 << 5); err != nil {
				return err
			}
			if s.peek() == 'n' {
				return s.lit("null")
			}
			var seenO uint8
			return s.object(func(k []byte) error {
				switch {
				case keyIs(k, "result"):
					if seenO&1 != 0 {
						return errSlow
					}
					seenO |= 1
					var err error
					result, err = s.strOrNull()
					return err
				case keyIs(k, "reason"):
					if seenO&2 != 0 {
						return errSlow
					}
					seenO |= 2
					var err error
					reason, err = s.strOrNull()
					return err
				}
				return s.skip(3)
			})
		case keyIs(k, "actor"):
			if err := once(1 << 7); err != nil {
				return err
			}
			if s.peek() == 'n' {
				return s.lit("null")
			}
			return s.object(func(k []byte) error { return targetField(&s, k, &actor, &seenA) })
		case keyIs(k, "target"):
			if err := once(1 << 6); err != nil {
				return err
			}
			if s.peek() == 'n' {
				return s.lit("null")
			}
			if s.peek() != '[' {
				return errSlow
			}
			s.i++
			if s.peek() == ']' {
				s.i++
				return nil
			}
			for {
				var t [4][]byte
				var seenT uint8
				err := s.object(func(k []byte) error { return targetField(&s, k, &t, &seenT) })
				if err != nil {
					return err
				}
				tspans = append(tspans, t)
				switch s.peek() {
				case ',':
					s.i++
				case ']':
					s.i++
					return nil
				default:
					return errSlow
				}
			}
		}
		// debugContext and the rest stay in Raw only.
		return s.skip(2)
	})
	if err != nil || !s.end() {
		return tgts, errSlow
	}
	if seen&7 != 7 || len(uuid) > maxTokenLen || len(evType) > maxTokenLen {
		return tgts, errSlow
	}
	p, err := time.Parse(time.RFC3339Nano, string(pub))
	if err != nil {
		return tgts, errSlow
	}
	p = p.UTC()
	if p.Before(minPublished) || !p.Before(maxPublished) {
		return tgts, errSlow
	}
	// Every string of the event is a substring of one copy of it: one
	// allocation per event instead of one per field.
	rs := string(raw)
	str := func(v []byte) string {
		if len(v) == 0 {
			return ""
		}
		off := len(raw) - cap(v)
		return rs[off : off+len(v)]
	}
	*ev = LogEvent{
		UUID: str(uuid), EventType: internType(evType), Published: p,
		Version: str(version), DisplayMessage: str(msg),
		Outcome:       Outcome{Result: str(result), Reason: str(reason)},
		Actor:         Target{ID: str(actor[0]), Type: str(actor[1]), AlternateID: str(actor[2]), DisplayName: str(actor[3])},
		PublishedText: str(pub),
		Raw:           raw,
	}
	first := len(tgts)
	for _, t := range tspans {
		tgts = append(tgts, Target{ID: str(t[0]), Type: str(t[1]), AlternateID: str(t[2]), DisplayName: str(t[3])})
	}
	if len(tspans) > 0 {
		ev.Target = tgts[first:len(tgts):len(tgts)]
	}
	if err := Validate(ev); err != nil {
		return tgts[:first], errSlow
	}
	return tgts, nil
}

// targetField reads one key of a target or actor object into t (id, type,
// alternateId, displayName as plain strings or null; a repeated key is
// declined) and skips any other key.
func targetField(s *scanner, k []byte, t *[4][]byte, seen *uint8) error {
	j := -1
	switch {
	case keyIs(k, "id"):
		j = 0
	case keyIs(k, "type"):
		j = 1
	case keyIs(k, "alternateId"):
		j = 2
	case keyIs(k, "displayName"):
		j = 3
	default:
		return s.skip(4)
	}
	if *seen&(1<<j) != 0 {
		return errSlow
	}
	*seen |= 1 << j
	var err error
	t[j], err = s.strOrNull()
	return err
}

// internType returns the canonical string of a known event type (no
// allocation), or a copy.
func internType(b []byte) string {
	if t, ok := knownTypes[string(b)]; ok {
		return t
	}
	return string(b)
}

var knownTypes = func() map[string]string {
	m := make(map[string]string, len(requiredTargets))
	for t := range requiredTargets {
		m[t] = t
	}
	return m
}()
