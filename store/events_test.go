package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestEventPageScanBudget: a rare filter with a small scan budget answers
// short pages with cursors, and following them yields exactly the matching
// events, newest first, each once.
func TestEventPageScanBudget(t *testing.T) {
	s := openTest(t)
	const n = 95
	write(t, s, func(tx *writeTx) error {
		for i := range n {
			typ := "user.session.start"
			if i%10 == 3 {
				typ = "user.account.lock"
			}
			ev := EventRecord{UUID: fmt.Sprintf("e%03d", i), Type: typ, Published: st(i / 3).Published,
				Raw: json.RawMessage(fmt.Sprintf(`{"uuid":"e%03d","actor":{"id":"00u%d"}}`, i, i%4))}
			if err := tx.RecordEvent(ev, time.Time{}); err != nil {
				return err
			}
		}
		return nil
	})
	var got []string
	q := EventQuery{Type: "user.account.*", Limit: 3, MaxScan: 7}
	for calls := 0; ; calls++ {
		if calls > n {
			t.Fatal("paging does not end")
		}
		evs, next, err := s.EventPage(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			got = append(got, e.UUID)
		}
		if next == "" {
			break
		}
		q.After = next
	}
	var want []string
	for i := n - 1; i >= 0; i-- {
		if i%10 == 3 {
			want = append(want, fmt.Sprintf("e%03d", i))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
	// Refs match the actor's id.
	evs, _, err := s.EventPage(EventQuery{Refs: []string{"00U1"}, Limit: 1000})
	if err != nil || len(evs) != (n+3)/4 {
		t.Fatalf("refs: %d events, %v", len(evs), err)
	}
}

// TestEventRecordPublishedText: version-1 records (no text) read back with
// the raw event's published; version 2 keeps the text exactly.
func TestEventRecordPublishedText(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		return tx.RecordEvent(EventRecord{UUID: "v2", Type: "t", Published: st(1).Published,
			PublishedText: "2026-03-03T09:01:00.000000Z", Raw: json.RawMessage(`{"uuid":"v2"}`)}, time.Time{})
	})
	// A record as version 1 wrote it.
	old := EventRecord{UUID: "v1", Type: "t", Published: st(2).Published, Raw: json.RawMessage(`{"uuid":"v1","published":"2026-03-03T09:02:00.000Z"}`)}
	v1 := []byte{eventCodecV1}
	v1 = appendString(v1, old.UUID)
	v1 = appendString(v1, old.Type)
	v1 = binary.AppendVarint(v1, old.Published.UnixNano())
	v1 = binary.AppendVarint(v1, 0)
	v1 = append(v1, old.Raw...)
	if err := s.update(func(txn *badger.Txn) error { return txn.Set(eventLogKey(old.Published, old.UUID), v1) }); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events("", 0)
	if err != nil || len(evs) != 2 {
		t.Fatalf("%v %v", evs, err)
	}
	for _, e := range evs {
		b, _ := json.Marshal(e)
		var w struct{ Published string }
		_ = json.Unmarshal(b, &w)
		want := map[string]string{"v1": "2026-03-03T09:02:00.000Z", "v2": "2026-03-03T09:01:00.000000Z"}[e.UUID]
		if w.Published != want {
			t.Errorf("%s: published %q, want %q", e.UUID, w.Published, want)
		}
	}
}
