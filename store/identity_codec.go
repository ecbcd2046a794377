package store

// Binary encodings of identity records, edges and event-log entries.
//
// All integers are Go varints (encoding/binary). A string is a uvarint length
// followed by its bytes. A stamp is one flag byte (0 = zero stamp, nothing
// follows; 1 = set) then the varint UnixNano of Published and the UUID string.
//
// Entity record (u/<id>, g/<id>, a/<id>), version 1:
//
//	byte   version (1)
//	byte   life state: 0 = stub (register never written), 1 = set, 2 = deleted
//	stamp  life register stamp
//	string life register value (user status; "" for groups)
//	stamp  latest delete stamp ever applied (zero if never deleted); edges
//	       not newer than it are hidden from reads
//	uvarint field count, then per field: string value, stamp
//
// Users have ten fields (login, email, displayName, firstName, lastName,
// type, created, activated, statusChanged, lastUpdated), groups three
// (name, description, type), apps two (name, label). A record written by a
// version with fewer fields reads with the missing ones empty.
//
// Version 2 appends, after the fields, the profile attributes and (users
// only) the admin roles; a record without either is still written as
// version 1:
//
//	uvarint attribute count, then per attribute (sorted by name):
//	       string name, byte type (attrType*), string raw JSON value
//	       ("" = removed), stamp
//	uvarint role count, then per role (sorted by key):
//	       string key, string type, string label, byte present, stamp
//
// Index entry (ul/ ue/ gn/ <lower(value)>\x00<id>): one flag byte (1 = id
// holds the value, 2 = id gave it up) then the stamp of that claim or
// release. An empty value is an entry written before claims were stamped:
// it is read as a claim stamped with the record's field register.
//
// Edge (gm/ ug/ ga/ ag/ au/ ua/): the value is the stamp of the last write,
// then, on app-user edges that have one, the string fact kept with it (the
// app username); readers of the stamp alone ignore what follows it.
// Badger's per-entry UserMeta byte carries the register value (1 = present,
// 0 = removed), so a presence check needs no value decoding.
//
// Event log entry (el/…), version 2 (version 1 lacks the published text):
//
//	byte   version (2)
//	string uuid
//	string eventType
//	varint published UnixNano
//	varint received UnixNano
//	string published exactly as Okta sent it
//	rest   raw event JSON

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

const (
	codecVersion = 1
	// codecVersion2 records carry profile attributes and admin roles.
	codecVersion2 = 2
)

// Life register states of an entity record.
const (
	lifeStub    byte = 0
	lifeSet     byte = 1
	lifeDeleted byte = 2
)

// Field positions in entity records.
const (
	fLogin = iota
	fEmail
	fDisplayName
	fFirstName
	fLastName
	fUserType
	fCreated
	fActivated
	fStatusChanged
	fLastUpdated
	userFieldCount
)

const (
	fGroupName = iota
	fGroupDescription
	fGroupType
	groupFieldCount
)

const (
	fAppName = iota
	fAppLabel
	appFieldCount
)

// reg is one last-writer-wins register: a value and the stamp that wrote it.
type reg struct {
	V string
	S Stamp
}

// entity is the decoded form of a user, group or app record.
type entity struct {
	Life  byte
	Value reg   // life register (user status); meaningful when Life != lifeStub
	Del   Stamp // latest delete ever applied
	F     []reg
	X     []attrReg // profile attributes beyond F, sorted by name (version 2)
	R     []roleReg // admin roles, sorted by key (users, version 2)
}

// live reports whether reads should show the entity.
func (e *entity) live() bool { return e.Life != lifeDeleted }

// shows reports whether an edge written at s is visible from the entity's
// side: the entity is live and the edge is newer than its last delete.
func (e *entity) shows(s Stamp) bool {
	return e.live() && (e.Del.isZero() || s.After(e.Del))
}

var errCorrupt = errors.New("store: corrupt record")

// isZero reports whether s was never set.
func (a Stamp) isZero() bool { return a.Published.IsZero() && a.UUID == "" }

// minNano and maxNano bound the times a stamp can hold (time.UnixNano's range).
var (
	minStampTime = time.Unix(0, -1<<63+1)
	maxStampTime = time.Unix(0, 1<<63-1)
)

// checkStamp rejects stamps whose time cannot be encoded.
func checkStamp(s Stamp) error {
	if s.Published.IsZero() {
		return nil
	}
	if s.Published.Before(minStampTime) || s.Published.After(maxStampTime) {
		return fmt.Errorf("store: stamp time %s out of range", s.Published.Format(time.RFC3339))
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStamp(b []byte, s Stamp) []byte {
	if s.isZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	var n int64
	if !s.Published.IsZero() {
		n = s.Published.UnixNano()
	}
	b = binary.AppendVarint(b, n)
	return appendString(b, s.UUID)
}

// decoder reads the encodings above; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.err = errCorrupt
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

// varint reads a zig-zag varint: binary.Varint's decoding of uvarint's
// bytes.
func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) stamp() Stamp {
	if d.byte() == 0 || d.err != nil {
		return Stamp{}
	}
	n := d.varint()
	var s Stamp
	if n != 0 {
		s.Published = time.Unix(0, n).UTC()
	}
	s.UUID = d.string()
	return s
}

func encodeEntity(e *entity) []byte {
	b := make([]byte, 0, 64+len(e.F)*32+len(e.X)*32)
	v := byte(codecVersion)
	if len(e.X) > 0 || len(e.R) > 0 {
		v = codecVersion2
	}
	b = append(b, v, e.Life)
	b = appendStamp(b, e.Value.S)
	b = appendString(b, e.Value.V)
	b = appendStamp(b, e.Del)
	b = binary.AppendUvarint(b, uint64(len(e.F)))
	for _, f := range e.F {
		b = appendString(b, f.V)
		b = appendStamp(b, f.S)
	}
	if v == codecVersion2 {
		b = binary.AppendUvarint(b, uint64(len(e.X)))
		for _, x := range e.X {
			b = appendString(b, x.Name)
			b = append(b, x.T)
			b = appendString(b, x.V)
			b = appendStamp(b, x.S)
		}
		b = binary.AppendUvarint(b, uint64(len(e.R)))
		for _, r := range e.R {
			b = appendString(b, r.Key)
			b = appendString(b, r.Type)
			b = appendString(b, r.Label)
			on := byte(0)
			if r.On {
				on = 1
			}
			b = append(b, on)
			b = appendStamp(b, r.S)
		}
	}
	return b
}

// decodeEntity decodes a record, padding or trimming its fields to nfields
// so that records written by a version with fewer fields still read.
func decodeEntity(b []byte, nfields int) (*entity, error) {
	d := decoder{b: b}
	v := d.byte()
	if v != codecVersion && v != codecVersion2 {
		return nil, fmt.Errorf("%w: entity version %d", errCorrupt, v)
	}
	e := &entity{F: make([]reg, nfields)}
	e.Life = d.byte()
	e.Value.S = d.stamp()
	e.Value.V = d.string()
	e.Del = d.stamp()
	n := d.uvarint()
	if n > 64 {
		return nil, fmt.Errorf("%w: %d fields", errCorrupt, n)
	}
	for i := 0; i < int(n); i++ {
		v := d.string()
		s := d.stamp()
		if i < nfields {
			e.F[i] = reg{V: v, S: s}
		}
	}
	if v == codecVersion2 {
		nx := d.uvarint()
		if nx > uint64(len(d.b)) {
			return nil, fmt.Errorf("%w: %d attributes", errCorrupt, nx)
		}
		e.X = make([]attrReg, 0, nx)
		for i := uint64(0); i < nx && d.err == nil; i++ {
			var x attrReg
			x.Name = d.string()
			x.T = d.byte()
			x.V = d.string()
			x.S = d.stamp()
			e.X = append(e.X, x)
		}
		nr := d.uvarint()
		if nr > uint64(len(d.b)) {
			return nil, fmt.Errorf("%w: %d roles", errCorrupt, nr)
		}
		e.R = make([]roleReg, 0, nr)
		for i := uint64(0); i < nr && d.err == nil; i++ {
			var r roleReg
			r.Key, r.Type, r.Label = d.string(), d.string(), d.string()
			r.On = d.byte() == 1
			r.S = d.stamp()
			e.R = append(e.R, r)
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return e, nil
}

// Index entry flags.
const (
	claimHeld     byte = 1
	claimReleased byte = 2
)

// encodeClaim encodes an index entry value.
func encodeClaim(held bool, at Stamp) []byte {
	flag := claimReleased
	if held {
		flag = claimHeld
	}
	return appendStamp([]byte{flag}, at)
}

// decodeClaim decodes an index entry value; legacy is true for an empty
// (pre-stamp) value.
func decodeClaim(b []byte) (held bool, at Stamp, legacy bool, err error) {
	if len(b) == 0 {
		return true, Stamp{}, true, nil
	}
	if b[0] != claimHeld && b[0] != claimReleased {
		return false, Stamp{}, false, fmt.Errorf("%w: index flag %d", errCorrupt, b[0])
	}
	at, err = decodeStamp(b[1:])
	return b[0] == claimHeld, at, false, err
}

// appendEdge encodes an edge value: the stamp, then fact unless "".
func appendEdge(b []byte, at Stamp, fact string) []byte {
	b = appendStamp(b, at)
	if fact != "" {
		b = appendString(b, fact)
	}
	return b
}

// decodeEdge decodes an edge value and its fact ("" when none).
func decodeEdge(b []byte) (Stamp, string, error) {
	d := decoder{b: b}
	s := d.stamp()
	if d.err != nil || len(d.b) == 0 {
		return s, "", d.err
	}
	f := d.string()
	return s, f, d.err
}

// decodeStamp decodes an edge value.
func decodeStamp(b []byte) (Stamp, error) {
	d := decoder{b: b}
	s := d.stamp()
	return s, d.err
}

// Event log entry versions.
const (
	eventCodecV1 = 1
	eventCodecV2 = 2
)

// encodeEventRecord encodes an event-log value.
func encodeEventRecord(ev *EventRecord) []byte {
	b := make([]byte, 0, 64+len(ev.UUID)+len(ev.Type)+len(ev.PublishedText)+len(ev.Raw))
	b = append(b, eventCodecV2)
	b = appendString(b, ev.UUID)
	b = appendString(b, ev.Type)
	b = binary.AppendVarint(b, unixNano(ev.Published))
	b = binary.AppendVarint(b, unixNano(ev.Received))
	b = appendString(b, ev.PublishedText)
	return append(b, ev.Raw...)
}

// eventHead is what filtering needs from an event-log value, decoded
// without copying the raw event.
type eventHead struct {
	typ       string
	published time.Time
}

func decodeEventHead(b []byte) (eventHead, error) {
	d := decoder{b: b}
	if v := d.byte(); v != eventCodecV1 && v != eventCodecV2 {
		return eventHead{}, errCorrupt
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return eventHead{}, errCorrupt
	}
	d.b = d.b[n:]
	var h eventHead
	h.typ = d.string()
	h.published = fromUnixNano(d.varint())
	return h, d.err
}

func decodeEventRecord(b []byte) (EventRecord, error) {
	d := decoder{b: b}
	v := d.byte()
	if v != eventCodecV1 && v != eventCodecV2 {
		return EventRecord{}, fmt.Errorf("%w: event version %d", errCorrupt, v)
	}
	var ev EventRecord
	ev.UUID = d.string()
	ev.Type = d.string()
	ev.Published = fromUnixNano(d.varint())
	ev.Received = fromUnixNano(d.varint())
	if v == eventCodecV2 {
		ev.PublishedText = d.string()
	}
	if d.err != nil {
		return EventRecord{}, d.err
	}
	ev.Raw = append([]byte(nil), d.b...)
	return ev, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
