package store

// The Okta event log: accepted events (el/), seen-uuid markers (ev/),
// rejected events (rj/) and the last-applied watermark (meta/lap/).

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

const (
	pEventLog    = "el/"
	pEventSeen   = "ev/"
	pRejected    = "rj/"
	kRejectSeq   = "meta/rjseq"
	pLastApplied = "meta/lap/"
)

// DefaultEventLimit is the number of events Events and RejectedEvents return
// when given limit <= 0.
const DefaultEventLimit = 100

// EventRecord is one accepted event as kept in the event log for the admin
// API and for plugins: its identity, when Okta published it, when hookgate
// received it, and the raw System Log event.
type EventRecord struct {
	UUID      string    `json:"uuid"`
	Type      string    `json:"eventType"`
	Published time.Time `json:"published"`
	// PublishedText is published as Okta sent it; the JSON "published" is
	// this string, byte for byte ("…42.340Z" stays "…42.340Z"), or, when
	// it is empty (a record written without it), Published in RFC 3339.
	PublishedText string          `json:"-"`
	Received      time.Time       `json:"received"`
	Raw           json.RawMessage `json:"event"`
}

// MarshalJSON encodes the record with published exactly as received.
func (e EventRecord) MarshalJSON() ([]byte, error) {
	pub := e.PublishedText
	if pub == "" {
		pub = publishedFromRaw(e.Raw)
	}
	if pub == "" && !e.Published.IsZero() {
		pub = e.Published.Format(time.RFC3339Nano)
	}
	return json.Marshal(struct {
		UUID      string          `json:"uuid"`
		Type      string          `json:"eventType"`
		Published string          `json:"published"`
		Received  time.Time       `json:"received"`
		Raw       json.RawMessage `json:"event"`
	}{e.UUID, e.Type, pub, e.Received, e.Raw})
}

// publishedFromRaw is the raw event's published string ("" if none): the
// text of records written before the log kept it.
func publishedFromRaw(raw json.RawMessage) string {
	var v struct {
		Published string `json:"published"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return v.Published
}

// Rejected is a malformed event kept aside with the reason it was refused,
// so an operator can see what Okta sent that hookgate could not use.
type Rejected struct {
	Seq        uint64          `json:"seq"`
	EnvelopeID string          `json:"envelopeId"`
	Index      int             `json:"index"`
	Reason     string          `json:"reason"`
	Received   time.Time       `json:"received"`
	Raw        json.RawMessage `json:"event"`
}

// sortableTime encodes t as 16 hex digits whose byte order is time order
// (UnixNano with the sign bit flipped).
func sortableTime(t time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(unixNano(t))^(1<<63))
	return hex.EncodeToString(b[:])
}

func parseSortableTime(s string) (time.Time, error) {
	u, err := strconv.ParseUint(s, 16, 64)
	if err != nil || len(s) != 16 {
		return time.Time{}, fmt.Errorf("%w: time key %q", errCorrupt, s)
	}
	return fromUnixNano(int64(u ^ (1 << 63))), nil
}

func eventLogKey(published time.Time, uuid string) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(unixNano(published))^(1<<63))
	k := make([]byte, 0, len(pEventLog)+16+1+len(uuid))
	k = append(k, pEventLog...)
	k = hex.AppendEncode(k, b[:])
	k = append(k, '/')
	return append(k, uuid...)
}

// SeenEvent reports whether an event with this uuid was recorded (and its
// marker has not expired). It sees the transaction's own writes, so it also
// catches a uuid repeated inside one batch.
func (tx *writeTx) SeenEvent(uuid string) (bool, error) {
	_, err := tx.txn.Get(key(pEventSeen, uuid))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: seen event %q: %w", uuid, err)
	}
	return true, nil
}

// RecordEvent appends ev to the event log (el/<published>/<uuid>) and marks
// its uuid seen (ev/<uuid>), both expiring at expiresAt (zero keeps them
// forever).
func (tx *writeTx) RecordEvent(ev EventRecord, expiresAt time.Time) error {
	if ev.UUID == "" {
		return errors.New("store: record event: empty uuid")
	}
	if err := checkStamp(Stamp{Published: ev.Published}); err != nil {
		return fmt.Errorf("store: record event %q: %w", ev.UUID, err)
	}
	lk := eventLogKey(ev.Published, ev.UUID)
	le := badger.NewEntry(lk, encodeEventRecord(&ev))
	me := badger.NewEntry(key(pEventSeen, ev.UUID), lk)
	if !expiresAt.IsZero() {
		le.ExpiresAt = uint64(expiresAt.Unix())
		me.ExpiresAt = le.ExpiresAt
	}
	if err := tx.txn.SetEntry(le); err != nil {
		return fmt.Errorf("store: record event %q: %w", ev.UUID, err)
	}
	if err := tx.txn.SetEntry(me); err != nil {
		return fmt.Errorf("store: record event %q: %w", ev.UUID, err)
	}
	return nil
}

// RecordRejected keeps a malformed event with its reason under the next
// sequence number (kept in meta/rjseq, so numbers are gap-free and
// transactional; r.Seq is ignored).
func (tx *writeTx) RecordRejected(r Rejected) error {
	var seq uint64
	item, err := tx.txn.Get([]byte(kRejectSeq))
	switch {
	case err == nil:
		if err := item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: %s", errCorrupt, kRejectSeq)
			}
			seq = binary.BigEndian.Uint64(v)
			return nil
		}); err != nil {
			return fmt.Errorf("store: record rejected: %w", err)
		}
	case !errors.Is(err, badger.ErrKeyNotFound):
		return fmt.Errorf("store: record rejected: %w", err)
	}
	seq++
	r.Seq = seq
	if !json.Valid(r.Raw) {
		q, _ := json.Marshal(string(r.Raw))
		r.Raw = q
	}
	val, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: record rejected: %w", err)
	}
	var sb [8]byte
	binary.BigEndian.PutUint64(sb[:], seq)
	if err := tx.txn.Set([]byte(kRejectSeq), append([]byte(nil), sb[:]...)); err != nil {
		return fmt.Errorf("store: record rejected: %w", err)
	}
	if err := tx.txn.Set(append([]byte(pRejected), sb[:]...), val); err != nil {
		return fmt.Errorf("store: record rejected: %w", err)
	}
	return nil
}

// lapSweepEvery is how often (in calls) SetLastAppliedPublished also sweeps
// every stale watermark entry rather than only the greatest one.
const lapSweepEvery = 256

// SetLastAppliedPublished raises the watermark of the newest published time
// among applied events (System Log catch-up starts there). It never lowers it.
//
// To keep concurrent ingests free of conflicts it does not read-modify-write
// one key: each call writes meta/lap/<t> blindly and deletes entries older
// than t that a snapshot (outside the transaction's conflict set) shows. A
// transaction only deletes keys below the one it writes, so the greatest key
// ever written is never deleted and LastAppliedPublished (the greatest key)
// is monotonic.
//
// It looks only at the greatest entry (one reverse seek): when that is not
// older than t there is nothing to do, otherwise that entry is deleted.
// Deleted entries stay as tombstones until compaction, so scanning the whole
// prefix on every batch grew with the number of batches ingested. Two
// concurrent raises can both delete the same previous maximum and leave the
// smaller of their own keys behind; that is harmless (reads take the
// greatest) and every lapSweepEvery-th call sweeps such leftovers.
func (tx *writeTx) SetLastAppliedPublished(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if err := checkStamp(Stamp{Published: t}); err != nil {
		return fmt.Errorf("store: set last applied: %w", err)
	}
	k := append([]byte(pLastApplied), sortableTime(t)...)
	sweep := tx.s.lapCalls.Add(1)%lapSweepEvery == 0
	var stale [][]byte
	upToDate := false
	// Entries of a replicated log applied in one transaction (ApplyEntries)
	// do not see each other's keys in the committed view: the greatest
	// key written earlier in the run is the top then (it is above
	// everything committed, or it would not have been written).
	var runTop []byte
	if tx.run != nil {
		runTop = tx.run.lap
	}
	var err error
	if !sweep {
		top := runTop
		if top == nil {
			top, err = tx.s.lapTopKey()
		}
		if top != nil {
			if string(top) >= string(k) {
				upToDate = true
			} else {
				stale = append(stale, top)
			}
		}
	} else {
		err = tx.s.view(func(txn *badger.Txn) error {
			opts := badger.DefaultIteratorOptions
			opts.PrefetchValues = false
			opts.Prefix = []byte(pLastApplied)
			it := txn.NewIterator(opts)
			defer it.Close()
			for it.Seek(opts.Prefix); it.ValidForPrefix(opts.Prefix); it.Next() {
				ik := it.Item().KeyCopy(nil)
				if string(ik) >= string(k) {
					break
				}
				stale = append(stale, ik)
			}
			if runTop != nil && string(runTop) < string(k) {
				stale = append(stale, runTop)
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("store: set last applied: %w", err)
	}
	if upToDate {
		return nil
	}
	for _, sk := range stale {
		if err := tx.txn.Delete(sk); err != nil {
			return fmt.Errorf("store: set last applied: %w", err)
		}
	}
	if err := tx.txn.Set(k, nil); err != nil {
		return fmt.Errorf("store: set last applied: %w", err)
	}
	if tx.run != nil {
		tx.run.lap = k
	}
	tx.lap = k
	return nil
}

// lapTopKey is the greatest watermark key committed: the cached one, or
// (once per Open or restore) the greatest key found by a reverse seek.
// The seek costs more the more watermark keys were deleted since Badger
// last compacted them away: its iterator walks past every tombstone of
// the prefix looking for a second live key, which made each raise
// linear in the deliveries ingested.
func (s *Store) lapTopKey() ([]byte, error) {
	if p := s.lapTop.Load(); p != nil {
		return []byte(*p), nil
	}
	var top []byte
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Reverse = true
		opts.Prefix = []byte(pLastApplied)
		it := txn.NewIterator(opts)
		defer it.Close()
		if it.Seek([]byte(pLastApplied + "\xff")); it.ValidForPrefix(opts.Prefix) {
			top = it.Item().KeyCopy(nil)
		}
		return nil
	})
	if err != nil || top == nil {
		return nil, err
	}
	s.raiseLapTop(top)
	return top, nil
}

// raiseLapTop records k, a watermark key just committed (or read from
// the committed view), as the greatest known unless a greater one is.
func (s *Store) raiseLapTop(k []byte) {
	ks := string(k)
	for {
		p := s.lapTop.Load()
		if p != nil && *p >= ks {
			return
		}
		if s.lapTop.CompareAndSwap(p, &ks) {
			return
		}
	}
}

// SetLastAppliedPublished raises the watermark to t durably (an Okta
// sync that saw no event starts catch-up at its snapshot time).
func (s *Store) SetLastAppliedPublished(t time.Time) error {
	_, err := s.apply(&OpSetWatermark{At: t})
	return err
}

// SeenEvents reports, for each uuid, whether an event with it was
// recorded (and its marker has not expired), from what is committed. The
// authoritative check is OpIngest's; this one lets a caller skip planning
// work for redeliveries.
func (s *Store) SeenEvents(uuids []string) ([]bool, error) {
	out := make([]bool, len(uuids))
	err := s.view(func(txn *badger.Txn) error {
		for i, u := range uuids {
			_, err := txn.Get(key(pEventSeen, u))
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out[i] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: seen events: %w", err)
	}
	return out, nil
}

// Ingest applies one Okta delivery (OpIngest): ids and enqueue times of
// the items' work are assigned here. It returns once every commit is
// durable.
func (s *Store) Ingest(op *OpIngest) (IngestResult, error) {
	now := time.Now()
	for i := range op.Items {
		for j := range op.Items[i].Work {
			s.prepareItem(&op.Items[i].Work[j], now)
		}
	}
	return applyAs[IngestResult](s, op)
}

// ApplyIdentity applies identity changes in one durable transaction
// (OpApplyIdentity).
func (s *Store) ApplyIdentity(changes ...IdentityChange) error {
	_, err := s.apply(&OpApplyIdentity{Changes: changes})
	return err
}

// LastAppliedPublished returns the newest published time of any applied
// event, or the zero time when none was applied.
func (s *Store) LastAppliedPublished() (time.Time, error) {
	top, err := s.lapTopKey()
	if err != nil {
		return time.Time{}, fmt.Errorf("store: last applied: %w", err)
	}
	if top == nil {
		return time.Time{}, nil
	}
	t, err := parseSortableTime(string(top[len(pLastApplied):]))
	if err != nil {
		return time.Time{}, fmt.Errorf("store: last applied: %w", err)
	}
	return t, nil
}

// Events returns up to limit accepted events, newest published first,
// only those of eventType unless it is "" (limit <= 0 means
// DefaultEventLimit). The slice is never nil. It is the first page of
// EventPage.
func (s *Store) Events(eventType string, limit int) ([]EventRecord, error) {
	evs, _, err := s.EventPage(EventQuery{Type: eventType, Limit: limit})
	return evs, err
}

// EventQuery selects a page of the event log for EventPage. Zero fields
// select everything.
type EventQuery struct {
	// After is the cursor EventPage returned for the previous page.
	After string
	// Limit bounds the page (<= 0: DefaultEventLimit).
	Limit int
	// Type is an exact event type, or a prefix ending in ".*" or "*"
	// ("user.lifecycle.*" matches user.lifecycle.create and
	// user.lifecycle.delete.initiated, not user.lifecycle).
	Type string
	// Since and Until bound published: Since <= published < Until.
	Since, Until time.Time
	// Refs, when set, keeps events whose actor or one of whose targets has
	// one of these as its id or alternateId (case-insensitive): a user's
	// id, login and email, say.
	Refs []string
	// MaxScan bounds the entries one call reads (<= 0: DefaultEventScan),
	// so a rare filter over a long log answers a short page with a cursor
	// rather than reading the whole log at once.
	MaxScan int
}

// DefaultEventScan is EventQuery.MaxScan's default.
const DefaultEventScan = 50000

// TypeMatches reports whether eventType matches the pattern (see
// EventQuery.Type; "" matches everything).
func TypeMatches(pattern, eventType string) bool {
	switch {
	case pattern == "":
		return true
	case strings.HasSuffix(pattern, "*"):
		return strings.HasPrefix(eventType, strings.TrimSuffix(pattern, "*"))
	}
	return pattern == eventType
}

// ErrBadCursor reports an EventQuery.After that EventPage did not make.
var ErrBadCursor = errors.New("store: bad event cursor")

// validEventCursor: "<16 hex digits>/<uuid>", an event-log key suffix.
func validEventCursor(c string) bool {
	if len(c) < 18 || c[16] != '/' {
		return false
	}
	_, err := parseSortableTime(c[:16])
	return err == nil
}

// eventNames reports whether the raw event's actor or a target has one of
// refs as its id or alternateId (case-insensitive).
func eventNames(raw []byte, refs []string) bool {
	type party struct {
		ID          string `json:"id"`
		AlternateID string `json:"alternateId"`
	}
	var ev struct {
		Actor  party   `json:"actor"`
		Target []party `json:"target"`
	}
	if json.Unmarshal(raw, &ev) != nil {
		// A part of another shape: read what decodes.
		var loose struct {
			Actor  json.RawMessage   `json:"actor"`
			Target []json.RawMessage `json:"target"`
		}
		_ = json.Unmarshal(raw, &loose)
		_ = json.Unmarshal(loose.Actor, &ev.Actor)
		for _, t := range loose.Target {
			var p party
			_ = json.Unmarshal(t, &p)
			ev.Target = append(ev.Target, p)
		}
	}
	names := func(p party) bool {
		for _, r := range refs {
			if strings.EqualFold(p.ID, r) || strings.EqualFold(p.AlternateID, r) {
				return true
			}
		}
		return false
	}
	if names(ev.Actor) {
		return true
	}
	for _, t := range ev.Target {
		if names(t) {
			return true
		}
	}
	return false
}

// EventPage returns a page of accepted events, newest published first
// (equal times by uuid, descending), matching q, and the cursor of the next
// page ("" when the log holds nothing further that could match). Paging
// with the returned cursors reads every retained event exactly once, even
// while new events arrive (they are newer than the first page and do not
// shift later pages). The slice is never nil.
func (s *Store) EventPage(q EventQuery) ([]EventRecord, string, error) {
	if q.Limit <= 0 {
		q.Limit = DefaultEventLimit
	}
	if q.MaxScan <= 0 {
		q.MaxScan = DefaultEventScan
	}
	start := []byte(pEventLog + "\xff")
	if q.After != "" {
		if !validEventCursor(q.After) {
			return []EventRecord{}, "", fmt.Errorf("%w %q", ErrBadCursor, q.After)
		}
		start = append([]byte(pEventLog), q.After...)
	}
	if !q.Until.IsZero() {
		if u := []byte(pEventLog + sortableTime(q.Until)); string(u) < string(start) {
			start = u // keys at Until are "el/<t>/<uuid>" > "el/<t>": excluded
		}
	}
	var stop []byte // keys below this are older than Since
	if !q.Since.IsZero() {
		stop = []byte(pEventLog + sortableTime(q.Since))
	}
	refs := make([]string, 0, len(q.Refs))
	for _, r := range q.Refs {
		if r != "" {
			refs = append(refs, r)
		}
	}
	out := []EventRecord{}
	var next string
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Reverse = true
		opts.Prefix = []byte(pEventLog)
		opts.PrefetchSize = min(q.Limit, 100)
		if q.Type != "" || len(refs) > 0 || stop != nil {
			opts.PrefetchValues = false
		}
		it := txn.NewIterator(opts)
		defer it.Close()
		scanned := 0
		var lastOut, lastScanned string // cursors: next pages start after them
		for it.Seek(start); it.ValidForPrefix(opts.Prefix); it.Next() {
			item := it.Item()
			k := item.Key()
			cursor := string(k[len(pEventLog):])
			if cursor == q.After {
				continue // the previous page's last event
			}
			if stop != nil && string(k) < string(stop) {
				return nil
			}
			if len(out) == q.Limit {
				next = lastOut // there is more in range
				return nil
			}
			if scanned == q.MaxScan {
				next = lastScanned // the next call resumes at this entry
				return nil
			}
			scanned++
			lastScanned = cursor
			err := item.Value(func(v []byte) error {
				if q.Type != "" {
					h, err := decodeEventHead(v)
					if err != nil || !TypeMatches(q.Type, h.typ) {
						return err
					}
				}
				ev, err := decodeEventRecord(v)
				if err != nil {
					return err
				}
				if len(refs) > 0 && !eventNames(ev.Raw, refs) {
					return nil
				}
				out = append(out, ev)
				lastOut = cursor
				return nil
			})
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return []EventRecord{}, "", fmt.Errorf("store: events %q: %w", q.Type, err)
	}
	return out, next, nil
}

// RejectedEvents returns up to limit rejected events, newest first (limit
// <= 0 means DefaultEventLimit). The slice is never nil.
func (s *Store) RejectedEvents(limit int) ([]Rejected, error) {
	if limit <= 0 {
		limit = DefaultEventLimit
	}
	out := []Rejected{}
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Reverse = true
		opts.Prefix = []byte(pRejected)
		opts.PrefetchSize = min(limit, 100)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek([]byte(pRejected + "\xff\xff\xff\xff\xff\xff\xff\xff\xff")); it.ValidForPrefix(opts.Prefix) && len(out) < limit; it.Next() {
			var r Rejected
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &r) }); err != nil {
				return fmt.Errorf("%x: %w", it.Item().Key(), err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return []Rejected{}, fmt.Errorf("store: rejected events: %w", err)
	}
	return out, nil
}
