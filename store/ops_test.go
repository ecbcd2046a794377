package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// replicaWriter applies every op to its store through EncodeOp/DecodeOp
// and to a second store too, as a replicated log's followers would.
type replicaWriter struct {
	t        *testing.T
	primary  *Store
	follower *Store
	names    map[string]int
}

func (w *replicaWriter) Apply(op Op) (any, error) {
	b, err := EncodeOp(op)
	if err != nil {
		w.t.Fatalf("encode %s: %v", op.OpName(), err)
	}
	w.names[op.OpName()]++
	dec, err := DecodeOp(b)
	if err != nil {
		w.t.Fatalf("decode %s: %v", op.OpName(), err)
	}
	// The log's encoding loses nothing: the decoded op is the op (as
	// JSON shows every field, times with their offset and nanoseconds).
	if j1, j2 := mustJSON(op), mustJSON(dec); j1 != j2 {
		w.t.Fatalf("%s changed through the log encoding:\n%s\n%s", op.OpName(), j1, j2)
	}
	res, err := w.primary.ApplyLocal(dec)
	dec2, _ := DecodeOp(b)
	res2, err2 := w.follower.ApplyLocal(dec2)
	if (err == nil) != (err2 == nil) {
		w.t.Fatalf("%s: primary error %v, follower error %v", op.OpName(), err, err2)
	}
	if fmt.Sprint(res) != fmt.Sprint(res2) {
		w.t.Fatalf("%s: primary result %v, follower result %v", op.OpName(), res, res2)
	}
	return res, err
}

// dump lists every live key with its value and expiry.
func dump(t *testing.T, s *Store) []string {
	var out []string
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%q=%q exp=%d", it.Item().Key(), v, it.Item().ExpiresAt()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryWriteIsAReplayableOp drives every kind of write through the
// public API with a Writer that sends each op through EncodeOp/DecodeOp to
// two stores: both end byte-for-byte identical (each op is deterministic
// given its arguments, and no write bypasses the Writer), and every op in
// opTypes was used.
func TestEveryWriteIsAReplayableOp(t *testing.T) {
	a, b := openTest(t), openTest(t)
	w := &replicaWriter{t: t, primary: a, follower: b, names: map[string]int{}}
	a.SetWriter(w)
	writeEveryOp(t, a)

	da, db := dump(t, a), dump(t, b)
	if !slices.Equal(da, db) {
		for i := range max(len(da), len(db)) {
			x, y := "", ""
			if i < len(da) {
				x = da[i]
			}
			if i < len(db) {
				y = db[i]
			}
			if x != y {
				t.Errorf("primary %s\nfollower %s", x, y)
			}
		}
		t.Fatal("stores differ")
	}
	for _, n := range OpNames() {
		if w.names[n] == 0 {
			t.Errorf("op %s was not exercised", n)
		}
	}
	if len(da) < 20 || !bytes.Contains([]byte(fmt.Sprint(da)), []byte("kv/p/k1")) {
		t.Fatalf("suspiciously small store: %v", da)
	}
}

// writeEveryOp drives every kind of write through a's public API.
func writeEveryOp(t *testing.T, a *Store) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	ev := func(uuid string, n int) LoggedEvent {
		return LoggedEvent{UUID: uuid, Type: "group.user_membership.add", Published: st(n).Published,
			PublishedText: st(n).Published.Format("2006-01-02T15:04:05.000000Z"), Raw: []byte(`{"uuid":"` + uuid + `"}`)}
	}
	res, err := a.Ingest(&OpIngest{EnvelopeID: "env1", Received: now, ExpiresAt: time.Now().Add(time.Hour), Items: []IngestItem{
		{Rejected: &Rejected{Index: 0, Reason: "bad", Raw: []byte(`{}`)}},
		{Event: ev("e1", 1), Changes: []IdentityChange{
			TouchUser(UserFacts{ID: "u1", Login: "ann@example.com"}, st(1)),
			CreateGroup(GroupFacts{ID: "g1", Name: "oncall"}, st(1)),
			SetMembership("g1", "u1", true, st(1)),
			TouchApp(AppFacts{ID: "a1", Name: "slack"}, st(1)),
			SetAppUserByLogin("a1", "ANN@example.com", true, AppUserFacts{UserName: "ann"}, st(1)),
		}, Work: []QueueItem{{Kind: "okta_event", Key: "u-u1", Plugin: "p", Ref: "e1"}}},
		{Event: ev("e1", 1), Work: []QueueItem{{Kind: "okta_event", Key: "u-u1", Plugin: "p", Ref: "dup"}}},
		{Event: ev("e2", 2), Changes: []IdentityChange{SetUserStatus("u1", "ACTIVE", st(2)), SetGroupApp("g1", "a1", true, st(2))}},
	}})
	must(err)
	if res.Accepted != 2 || res.Duplicates != 1 || res.Rejected != 1 {
		t.Fatalf("ingest %+v", res)
	}
	must(a.ApplyIdentity(TouchUser(UserFacts{ID: "u2"}, st(3)), SetAppUser("a1", "u2", true, st(3)),
		DeleteUser("u2", st(2), true), DeleteGroup("g9", st(3), false), TouchGroup(GroupFacts{ID: "g2"}, st(3)),
		DeleteUser("u3", st(4), false)))
	// Full profiles and admin roles (issue 15) replay like the rest.
	must(a.ApplyIdentity(
		SetUserProfile("u1", ProfileFacts{Attrs: map[string]json.RawMessage{
			"department": json.RawMessage(`"Engineering"`), "clearance": json.RawMessage(`3`), "tags": json.RawMessage(`["a", "b"]`),
		}, Types: map[string]string{"clearance": AttrInteger}}, st(4)),
		SetGroupProfile("g1", ProfileFacts{Attrs: map[string]json.RawMessage{"name": json.RawMessage(`"g one"`)}}, st(4)),
		SetUserRole("u1", AdminRole{Type: "SUPER_ADMIN", Label: "Super Administrator"}, true, st(4)),
		SetUserRoles("u2", []AdminRole{{Type: "CUSTOM", Label: "Help desk"}}, st(4))))
	must(a.SetLastAppliedPublished(st(5).Published))
	must(a.KVSet("p", "k1", []byte("v1"), time.Hour))
	must(a.KVSet("p", "k2", []byte("v2"), 0))
	must(a.KVDelete("p", "k2"))
	if _, err := a.KVIncr("p", "n", 2, time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.KVCompareAndSet("p", "n", []byte("2"), true, []byte("5"), 0); err != nil || !ok {
		t.Fatalf("cas %v %v", ok, err)
	}
	must(a.Enqueue(&QueueItem{Kind: "okta_event", Key: "u-u2", Ref: "x"}))
	items, _, err := a.ClaimDue(time.Now(), 10, "run1", time.Minute)
	must(err)
	if len(items) != 2 {
		t.Fatalf("claimed %d", len(items))
	}
	must(a.RetryQueueItem(items[0].ID, "run1", "boom", time.Now()))
	must(a.DeadLetterQueueItem(items[1].ID, "run1", "dead", nil))
	_, err = a.RecoverQueue("run2", time.Now())
	must(err)
	re, err := a.ReplayDeadLetter(items[1].ID)
	must(err)
	items, _, err = a.ClaimDue(time.Now(), 10, "run2", time.Minute)
	must(err)
	for _, it := range items {
		if it.ID == re.ID {
			must(a.DeadLetterQueueItem(it.ID, "run2", "again", nil))
			must(a.DropDeadLetter(it.ID))
		} else {
			must(a.CompleteQueueItem(it.ID, "run2", nil))
		}
	}
	g1 := &Grant{User: "ann@example.com", App: "aws", Plugin: "p", GrantedAt: now, ExpiresAt: now.Add(-time.Minute)}
	g2 := &Grant{User: "ann@example.com", App: "jira", Plugin: "p", GrantedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(a.PutGrant(g1))
	must(a.PutGrant(g2))
	claimed, err := a.ClaimExpiredGrants(now, 10, &QueueItem{Kind: "deprovision-grant", Payload: []byte(`{"via":"grant-expiry"}`)})
	must(err)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d grants", len(claimed))
	}
	items, _, err = a.ClaimDue(time.Now(), 10, "run2", time.Minute)
	must(err)
	if len(items) != 1 {
		t.Fatalf("claimed %d deprovisionings", len(items))
	}
	must(a.CompleteQueueItem(items[0].ID, "run2", &OpGrantTransition{ID: g1.ID, To: GrantRevoked, At: now, By: "grant-expiry"}))
	_, err = a.TransitionGrant(OpGrantTransition{ID: g2.ID, LastError: "retrying"})
	must(err)
	_, err = a.TransitionGrant(OpGrantTransition{ID: g2.ID, To: GrantFailed, LastError: "gave up"})
	must(err)
	log := NewAuditLog(a, AuditOptions{})
	must(log.Record(AuditRecord{Kind: "provisioning", User: "ann@example.com", Decision: "success"}))
	must(log.Close())
}

// TestDecodeOpRejectsUnknown: a log entry naming no known op is an error.
func TestDecodeOpRejectsUnknown(t *testing.T) {
	if _, err := DecodeOp([]byte(`{"op":"nope","args":{}}`)); err == nil {
		t.Fatal("unknown op decoded")
	}
	if _, err := DecodeOp([]byte(`not json`)); err == nil {
		t.Fatal("garbage decoded")
	}
}
