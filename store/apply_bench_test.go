package store

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// ingestOps is n Okta deliveries of per membership-add events each, as
// the gateway builds them (three identity changes and the raw event).
func ingestOps(n, per int) []*OpIngest {
	raw := []byte(`{"uuid":"x","eventType":"group.user_membership.add","published":"2026-03-03T09:00:00.000Z",` +
		`"actor":{"id":"00uadmin","type":"User"},"target":[{"id":"00u1","type":"User","alternateId":"u@example.com"}],` +
		`"debugContext":{"debugData":{"requestUri":"/api/v1/groups"}},"outcome":{"result":"SUCCESS"},"pad":"` + strings.Repeat("p", 1200) + `"}`)
	ops := make([]*OpIngest, n)
	for b := range ops {
		op := &OpIngest{EnvelopeID: fmt.Sprint("env", b), Received: t0}
		for i := range per {
			u := b*per + i
			at := Stamp{Published: t0.Add(time.Duration(u) * time.Millisecond)}
			uid, gid := fmt.Sprintf("00u%06d", u), fmt.Sprintf("00g%03d", b%20)
			op.Items = append(op.Items, IngestItem{
				Event: LoggedEvent{UUID: fmt.Sprintf("uuid-%08d", u), Type: "group.user_membership.add", Published: at.Published, Raw: raw},
				Changes: []IdentityChange{
					TouchUser(UserFacts{ID: uid, Login: uid + "@example.com", Email: uid + "@example.com"}, at),
					TouchGroup(GroupFacts{ID: gid, Name: "g" + gid}, at),
					SetMembership(gid, uid, true, at),
				},
			})
		}
		ops[b] = op
	}
	return ops
}

// BenchmarkApplyIngest: what applying Okta deliveries costs a store, one
// op per synced commit (a single node), one op per unsynced commit, and
// as a cluster node does (decoding log entries, runs of 16 in one
// commit); the decode alone beside them. ns/op is per delivery of 10
// events.
func BenchmarkApplyIngest(b *testing.B) {
	const per = 10
	encoded := func(ops []*OpIngest) []Entry {
		out := make([]Entry, len(ops))
		for i, op := range ops {
			data, err := EncodeOp(op)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = Entry{Index: uint64(i + 1), Data: data}
		}
		return out
	}
	open := func(noSync bool) *Store {
		s, err := Open(b.TempDir(), Options{NoSync: noSync})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	}
	for _, c := range []struct {
		name   string
		noSync bool
		run    int // 0: Ingest; else ApplyEntries runs of this size
	}{{"ingest-synced", false, 0}, {"ingest-nosync", true, 0}, {"entries-1", true, 1}, {"entries-16", true, 16}} {
		b.Run(c.name, func(b *testing.B) {
			ops := ingestOps(b.N, per)
			entries := encoded(ops)
			s := open(c.noSync)
			b.ResetTimer()
			if c.run == 0 {
				for _, op := range ops {
					if _, err := s.Ingest(op); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			for i := 0; i < len(entries); i += c.run {
				for _, r := range s.ApplyEntries(entries[i:min(i+c.run, len(entries))]) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
		})
	}
	b.Run("decode", func(b *testing.B) {
		entries := encoded(ingestOps(b.N, per))
		b.ResetTimer()
		for _, e := range entries {
			if _, err := DecodeOp(e.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestIngestCostFlatWithHistory pins that a delivery costs the same
// however many were ingested before it: the watermark raise used to seek
// past a tombstone of every earlier raise (an allocation each), so the
// thousandth delivery cost far more than the first.
func TestIngestCostFlatWithHistory(t *testing.T) {
	s := openTest(t)
	ops := ingestOps(1300, 2)
	next := 0
	ingest := func() {
		if _, err := s.Ingest(ops[next]); err != nil {
			t.Fatal(err)
		}
		next++
	}
	for range 50 {
		ingest()
	}
	early := testing.AllocsPerRun(20, ingest)
	for next < 1250 {
		ingest()
	}
	late := testing.AllocsPerRun(20, ingest)
	t.Logf("allocations per delivery: %.0f after 50 deliveries, %.0f after 1200", early, late)
	if late > early*1.5 {
		t.Errorf("a delivery allocates %.0f times after 1200 deliveries, %.0f after 50: its cost grows with history", late, early)
	}
}
