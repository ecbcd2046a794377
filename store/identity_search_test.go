package store

import (
	"reflect"
	"testing"
)

func TestSearchIdentity(t *testing.T) {
	s := openTest(t)
	write(t, s, func(tx *writeTx) error {
		for _, f := range []UserFacts{
			{ID: "00u1", Login: "alice.nguyen@example.com", Email: "alice@corp.example", DisplayName: "Alice Nguyen", FirstName: "Alice", LastName: "Nguyen"},
			{ID: "00u2", Login: "bob@example.com", Email: "bob@example.com", DisplayName: "Robert Smith", FirstName: "Robert", LastName: "Smith"},
			{ID: "00u3", Login: "carol@example.com", DisplayName: "Carol Alison", FirstName: "Carol", LastName: "Alison"},
			{ID: "00u4", Login: "alfred@example.com", FirstName: "Alfred"},
			{ID: "00u5", Login: "alina@example.com"},
		} {
			if err := tx.TouchUser(f, st(1)); err != nil {
				return err
			}
		}
		if err := tx.DeleteUser("00u5", st(2)); err != nil {
			return err
		}
		for _, g := range []GroupFacts{{ID: "00g1", Name: "oncall-engineers"}, {ID: "00g2", Name: "Everyone"}, {ID: "00g3", Name: "OnCall-Managers"}} {
			if err := tx.CreateGroup(g, st(1)); err != nil {
				return err
			}
		}
		if err := tx.SetMembership("00g1", "00u1", true, st(3)); err != nil {
			return err
		}
		if err := tx.DeleteGroup("00g3", st(4)); err != nil {
			return err
		}
		for _, a := range []AppFacts{{ID: "0oa1", Name: "amazon_aws", Label: "AWS"}, {ID: "0oa2", Name: "zendesk", Label: "Zendesk"}} {
			if err := tx.TouchApp(a, st(1)); err != nil {
				return err
			}
		}
		return nil
	})
	users := func(q, after string, limit int) ([]string, string) {
		t.Helper()
		us, next, err := s.SearchUsers(q, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, u := range us {
			ids = append(ids, u.ID)
		}
		return ids, next
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"al", []string{"00u1", "00u3", "00u4"}},       // login, last name, first name; deleted alina hidden
		{"ALICE", []string{"00u1"}},                    // case-insensitive
		{"alice@corp", []string{"00u1"}},               // email
		{"Robert S", []string{"00u2"}},                 // display name / full name
		{"smi", []string{"00u2"}},                      // last name
		{"ali", []string{"00u1", "00u3"}},              // last name Alison
		{"00u3", []string{"00u3"}},                     // id
		{"nobody", []string{}},                         // no match
		{"", []string{"00u1", "00u2", "00u3", "00u4"}}, // empty matches all live
	} {
		if got, next := users(c.q, "", 0); !reflect.DeepEqual(got, c.want) || next != "" {
			t.Errorf("SearchUsers(%q) = %v next %q, want %v", c.q, got, next, c.want)
		}
	}
	// Paging: one per page, cursors chain, the last page has none.
	var all []string
	after := ""
	for range 5 {
		ids, next := users("a", after, 1)
		all = append(all, ids...)
		if next == "" {
			break
		}
		after = next
	}
	if want := []string{"00u1", "00u3", "00u4"}; !reflect.DeepEqual(all, want) {
		t.Errorf("paged search = %v, want %v", all, want)
	}
	// Users come back whole (groups included).
	us, _, _ := s.SearchUsers("alice", "", 10)
	if len(us) != 1 || !reflect.DeepEqual(us[0].Groups, []string{"00g1"}) {
		t.Errorf("alice = %+v", us)
	}

	gs, next, err := s.SearchGroups("ONCALL", "", 0)
	if err != nil || len(gs) != 1 || gs[0].ID != "00g1" || next != "" || !reflect.DeepEqual(gs[0].Members, []string{"00u1"}) {
		t.Errorf("SearchGroups(ONCALL) = %+v next %q err %v", gs, next, err)
	}
	if gs, _, _ := s.SearchGroups("00g2", "", 0); len(gs) != 1 || gs[0].Name != "Everyone" {
		t.Errorf("SearchGroups(00g2) = %+v", gs)
	}
	for q, want := range map[string]string{"aws": "0oa1", "amaz": "0oa1", "zen": "0oa2", "0oa2": "0oa2"} {
		as, _, err := s.SearchApps(q, "", 0)
		if err != nil || len(as) != 1 || as[0].ID != want {
			t.Errorf("SearchApps(%q) = %+v err %v, want %s", q, as, err, want)
		}
	}
}
