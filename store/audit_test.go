package store

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestAuditNewestFirstAndFilters(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := NewAuditLog(s, AuditOptions{})
	defer a.Close()

	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := []AuditRecord{
		{Time: base, Kind: "pre_approval", User: "alice@example.com", Decision: "success"},
		{Time: base.Add(time.Second), Kind: "provisioning", User: "Alice@Example.com", Decision: "success"},
		{Time: base.Add(2 * time.Second), Kind: "pre_approval", User: "bob@example.com", Decision: "failure"},
		{Time: base.Add(3 * time.Second), Kind: "pre_approval", User: "alice@example.com", Decision: "error", Error: "timeout"},
	}
	for _, r := range recs {
		if err := a.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	all, err := a.List(AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("got %d records, want 4", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Time.After(all[i-1].Time) {
			t.Fatalf("not newest first: %v then %v", all[i-1].Time, all[i].Time)
		}
	}
	if all[0].Error != "timeout" || all[0].ID == "" {
		t.Fatalf("newest record = %+v", all[0])
	}

	alice, err := a.List(AuditFilter{User: "ALICE@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(alice) != 3 {
		t.Fatalf("alice: got %d records, want 3: %+v", len(alice), alice)
	}
	alicePre, err := a.List(AuditFilter{User: "alice@example.com", Kind: "pre_approval"})
	if err != nil {
		t.Fatal(err)
	}
	if len(alicePre) != 2 || alicePre[0].Decision != "error" || alicePre[1].Decision != "success" {
		t.Fatalf("alice pre_approval = %+v", alicePre)
	}
	prov, err := a.List(AuditFilter{Kind: "provisioning"})
	if err != nil {
		t.Fatal(err)
	}
	if len(prov) != 1 || prov[0].User != "Alice@Example.com" {
		t.Fatalf("provisioning = %+v", prov)
	}
	lim, err := a.List(AuditFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(lim) != 2 || !lim[0].Time.Equal(base.Add(3*time.Second)) {
		t.Fatalf("limit 2 = %+v", lim)
	}
}

func TestAuditConcurrentRecordsAllDurable(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuditLog(s, AuditOptions{MaxBatch: 7, Buffer: 3})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if err := a.Record(AuditRecord{Kind: "pre_approval", User: fmt.Sprintf("u%d@example.com", w)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	a.Close()
	if err := a.Record(AuditRecord{}); err != ErrAuditClosed {
		t.Fatalf("Record after Close = %v, want ErrAuditClosed", err)
	}
	s.Close()

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ListAudit(AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 200 {
		t.Fatalf("after reopen: %d records, want 200", len(got))
	}
	u3, err := s.ListAudit(AuditFilter{User: "u3@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(u3) != 25 {
		t.Fatalf("u3: %d records, want 25", len(u3))
	}
}

// TestAuditCommitIntervalNeverHoldsBarriers: with a commit interval far
// longer than the test, a record after a quiet spell is still committed
// without a Flush, a Flush ends the gathering at once, and Close writes
// what is gathered. (A writer that waited out the interval would hang the
// test until its timeout.)
func TestAuditCommitIntervalNeverHoldsBarriers(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := NewAuditLog(s, AuditOptions{CommitInterval: time.Hour})
	count := func() int {
		t.Helper()
		recs, err := s.ListAudit(AuditFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}

	// First record since start: committed without anyone flushing.
	if err := a.Record(AuditRecord{Kind: "pre_approval", User: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); count() < 1; time.Sleep(time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatal("the first record was not committed without a Flush")
		}
	}
	// Now within the interval: gathered until the Flush.
	for i := 0; i < 3; i++ {
		if err := a.Record(AuditRecord{Kind: "pre_approval", User: "b@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // let the writer take them and start gathering
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 4 {
		t.Fatalf("after Flush: %d records, want 4", n)
	}
	// Gathered again, then Close.
	if err := a.Record(AuditRecord{Kind: "pre_approval", User: "c@example.com"}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if n := count(); n != 5 {
		t.Fatalf("after Close: %d records, want 5", n)
	}
}
