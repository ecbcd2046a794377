package store

import (
	"testing"
	"time"
)

// TestQueueAndDeadLetterPages: pages chain through every item once, in id
// order, and the last page has no cursor.
func TestQueueAndDeadLetterPages(t *testing.T) {
	s := openTestStore(t, "")
	defer s.Close()
	var ids []string
	for i := range 7 {
		ids = append(ids, enqueue(t, s, "k"+string(rune('a'+i)), "r").ID)
	}
	walk := func(page func(after string) ([]string, string)) []string {
		var got []string
		after := ""
		for range 10 {
			p, next := page(after)
			if len(p) > 3 {
				t.Fatalf("page of %d with limit 3", len(p))
			}
			got = append(got, p...)
			if next == "" {
				return got
			}
			after = next
		}
		t.Fatal("paging does not end")
		return nil
	}
	q := walk(func(after string) ([]string, string) {
		items, next, err := s.QueuePage(after, 3)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out, next
	})
	if len(q) != 7 || q[0] != ids[0] || q[6] != ids[6] {
		t.Fatalf("queue pages = %v, want %v", q, ids)
	}
	// Dead-letter three (claimed, then dead), page them two at a time.
	items, _, err := s.ClaimDue(time.Now().Add(time.Second), 100, "w", time.Minute)
	if err != nil || len(items) != 7 {
		t.Fatalf("claim: %d %v", len(items), err)
	}
	for _, id := range ids[:3] {
		if err := s.DeadLetterQueueItem(id, "w", "boom", nil); err != nil {
			t.Fatal(err)
		}
	}
	var dead []string
	after := ""
	for range 5 {
		dls, next, err := s.DeadLetterPage(after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dls {
			dead = append(dead, d.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(dead) != 3 || dead[0] != ids[0] || dead[2] != ids[2] {
		t.Fatalf("dead letter pages = %v, want %v", dead, ids[:3])
	}
	if dls, next, err := s.DeadLetterPage("", 3); err != nil || len(dls) != 3 || next != "" {
		t.Fatalf("exact page: %d %q %v", len(dls), next, err)
	}
}
