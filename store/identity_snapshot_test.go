package store

import (
	"errors"
	"testing"
)

func TestUserWithGroupsAndGroupWithMembers(t *testing.T) {
	s := openTest(t)
	err := s.write(func(tx *writeTx) error {
		for _, u := range []UserFacts{
			{ID: "u1", Login: "ann@example.com"},
			{ID: "u2", Login: "ben@example.com"},
			{ID: "u3", Login: "cid@example.com"},
		} {
			if err := tx.TouchUser(u, st(1)); err != nil {
				return err
			}
		}
		for _, g := range []GroupFacts{{ID: "g1", Name: "oncall"}, {ID: "g2", Name: "platform"}, {ID: "g3", Name: "gone"}} {
			if err := tx.CreateGroup(g, st(1)); err != nil {
				return err
			}
		}
		for _, e := range [][2]string{{"g1", "u1"}, {"g1", "u2"}, {"g1", "u3"}, {"g2", "u1"}, {"g3", "u1"}} {
			if err := tx.SetMembership(e[0], e[1], true, st(2)); err != nil {
				return err
			}
		}
		if err := tx.SetMembership("g1", "u2", false, st(3)); err != nil {
			return err
		}
		if err := tx.DeleteUser("u3", st(4)); err != nil {
			return err
		}
		return tx.DeleteGroup("g3", st(4))
	})
	if err != nil {
		t.Fatal(err)
	}

	u, gs, err := s.UserWithGroups("ANN@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "u1" || len(gs) != 2 || gs[0].ID != "g1" || gs[0].Name != "oncall" || gs[1].ID != "g2" {
		t.Fatalf("user %+v groups %+v, want u1 in g1 (oncall) and g2, not the deleted g3", u, gs)
	}
	g, us, err := s.GroupWithMembers("oncall")
	if err != nil {
		t.Fatal(err)
	}
	if g.ID != "g1" || len(us) != 1 || us[0].ID != "u1" || us[0].Login != "ann@example.com" {
		t.Fatalf("group %+v members %+v, want only u1 (u2 removed, u3 deleted)", g, us)
	}
	if _, _, err := s.GroupWithMembers("gone"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted group: err %v, want ErrNotFound", err)
	}
	if _, _, err := s.UserWithGroups("u3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted user: err %v, want ErrNotFound", err)
	}
}
