package store

import (
	"testing"
	"time"
)

func TestGrantExpiryIndex(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	now := time.Now()
	past := &Grant{User: "alice@example.com", App: "aws", Permissions: []string{"r1"}, Plugin: "p", GrantedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}
	future := &Grant{User: "bob@example.com", App: "aws", Plugin: "p", GrantedAt: now, ExpiresAt: now.Add(time.Hour)}
	other := &Grant{User: "alice@example.com", App: "zendesk", Plugin: "p", GrantedAt: now, ExpiresAt: now.Add(-time.Second)}
	for _, g := range []*Grant{past, future, other} {
		if err := s.PutGrant(g); err != nil {
			t.Fatal(err)
		}
	}
	// The index survives a restart.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	defer s.Close()

	got, err := s.ClaimExpiredGrants(now, 10, &QueueItem{Kind: "deprovision-grant"})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	queued, _ := s.QueueItems(0)
	for _, it := range queued {
		if it.Key == "grant-"+it.Ref {
			seen = append(seen, it.Ref)
		}
	}
	if len(got) != 2 || got[0].ID != past.ID || got[1].ID != other.ID || len(seen) != 2 {
		t.Fatalf("claimed %+v, want past then other", got)
	}
	if again, _ := s.ClaimExpiredGrants(now, 10, nil); len(again) != 0 {
		t.Fatalf("claimed twice: %+v", again)
	}
	items, _ := s.QueueItems(0)
	if len(items) != 2 {
		t.Fatalf("queued %d deprovisionings, want 2", len(items))
	}

	if _, err := s.TransitionGrant(OpGrantTransition{ID: past.ID, To: GrantRevoked}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListGrants(GrantFilter{User: "ALICE@example.com", App: "aws"})
	if err != nil || len(list) != 1 || list[0].ID != past.ID || list[0].State != GrantRevoked {
		t.Fatalf("list alice/aws = %+v, %v", list, err)
	}
	list, _ = s.ListGrants(GrantFilter{State: GrantActive})
	if len(list) != 2 || list[0].ID != other.ID { // newest first
		t.Fatalf("list active = %+v", list)
	}
	// Revoking the future grant early removes it from the expiry index.
	if _, err := s.TransitionGrant(OpGrantTransition{ID: future.ID, To: GrantRevoked}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimExpiredGrants(now.Add(2*time.Hour), 10, nil); len(got) != 0 {
		t.Fatalf("revoked grant still expires: %+v", got)
	}
	st, _ := s.GrantStats()
	if st[GrantRevoked] != 2 || st[GrantActive] != 1 {
		t.Fatalf("stats = %v", st)
	}
}
