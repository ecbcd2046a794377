package store

// Time-boxed grants recorded from successful provisioning hooks.
//
//	gr/<id>                  grant record (JSON)
//	gx/<expiry>/<id>         expiry index: only grants still waiting to
//	                         expire (active and not yet handed to the queue)
//
// One scheduler scans gx/ up to now (ClaimExpiredGrants); there is no timer
// per grant, and a grant that expired while the gateway was down is simply
// found by the first scan after start-up.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Grant states.
const (
	GrantActive  = "active"
	GrantRevoked = "revoked"
	GrantFailed  = "failed"
)

// Grant is access given by a provisioning plugin for a limited time.
type Grant struct {
	ID string `json:"id"`
	// User is the request's target user email (what the caller sent).
	User string `json:"user"`
	// UserID is the Okta user id the email resolved to when granted, if any.
	UserID string `json:"user_id,omitempty"`
	// App is the request's application.app_id.
	App string `json:"app"`
	// Permissions are the request's permission values.
	Permissions []string `json:"permissions"`
	// Plugin is the provisioning plugin that granted the access.
	Plugin    string    `json:"plugin"`
	State     string    `json:"state"`
	GrantedAt time.Time `json:"granted_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// RevokedAt is when deprovisioning succeeded.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// RevokedBy says what revoked it: "grant-expiry" or "admin".
	RevokedBy string `json:"revoked_by,omitempty"`
	// LastError is the latest deprovisioning failure.
	LastError string `json:"last_error,omitempty"`
	// Request is the original provisioning payload, replayed to the
	// deprovisioning route on expiry.
	Request json.RawMessage `json:"request,omitempty"`
}

// GrantFilter narrows ListGrants; empty fields match everything.
type GrantFilter struct {
	// User matches by Okta id, login or email: ListGrants resolves it with
	// LookupUser and matches the user's id, login and email against the
	// grant's recorded user id and target email.
	User  string
	App   string
	State string
}

func grantKey(id string) []byte                  { return []byte("gr/" + id) }
func grantExpKey(at time.Time, id string) []byte { return []byte("gx/" + timeKey(at) + "/" + id) }

var (
	pGrant    = []byte("gr/")
	pGrantExp = []byte("gx/")
)

// putGrant stores a new grant (ID set) in txn and, for an active grant,
// adds it to the expiry index.
func putGrant(txn *badger.Txn, g *Grant) error {
	if g.ID == "" {
		return errors.New("store: put grant: id is required")
	}
	if g.State == "" {
		g.State = GrantActive
	}
	if g.Permissions == nil {
		g.Permissions = []string{}
	}
	if err := jsonSet(txn, grantKey(g.ID), g); err != nil {
		return err
	}
	if g.State == GrantActive {
		if err := txn.Set(grantExpKey(g.ExpiresAt, g.ID), nil); err != nil {
			return fmt.Errorf("store: index grant %s: %w", g.ID, err)
		}
	}
	return nil
}

// PutGrant stores a new grant durably (OpGrantRecord): it assigns ID (when
// empty) and State (active, when empty).
func (s *Store) PutGrant(g *Grant) error {
	if g.ID == "" {
		g.ID = s.newSeqID()
	}
	if g.State == "" {
		g.State = GrantActive
	}
	if g.Permissions == nil {
		g.Permissions = []string{}
	}
	if _, err := s.apply(&OpGrantRecord{Grant: *g}); err != nil {
		return fmt.Errorf("store: put grant: %w", err)
	}
	return nil
}

// getGrant reads grant id in txn.
func getGrant(txn *badger.Txn, id string) (*Grant, error) {
	var g Grant
	if err := jsonGet(txn, grantKey(id), &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// Grant returns grant id (ErrNotFound when absent).
func (s *Store) Grant(id string) (*Grant, error) {
	var g *Grant
	err := s.view(func(txn *badger.Txn) error {
		var err error
		g, err = getGrant(txn, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: grant %s: %w", id, err)
	}
	return g, nil
}

// writeGrant writes g back, removing its expiry entry when it is no
// longer active.
func writeGrant(txn *badger.Txn, g *Grant) error {
	if g.State != GrantActive {
		if err := txn.Delete(grantExpKey(g.ExpiresAt, g.ID)); err != nil {
			return fmt.Errorf("store: unindex grant %s: %w", g.ID, err)
		}
	}
	return jsonSet(txn, grantKey(g.ID), g)
}

// TransitionGrant applies t durably (OpGrantTransition) and returns the
// grant as written.
func (s *Store) TransitionGrant(t OpGrantTransition) (*Grant, error) {
	g, err := applyAs[*Grant](s, &t)
	if err != nil {
		return nil, fmt.Errorf("store: update grant %s: %w", t.ID, err)
	}
	return g, nil
}

// ClaimExpiredGrants takes up to limit active grants whose expiry is at or
// before now off the expiry index and, when work is not nil, enqueues a
// copy of it for each in the same transaction (OpGrantClaimExpired: Key
// "grant-<id>", Ref the grant id, Plugin the grant's plugin), so a grant
// leaves the index exactly when its deprovisioning is durably queued. It
// returns the grants claimed.
func (s *Store) ClaimExpiredGrants(now time.Time, limit int, work *QueueItem) ([]Grant, error) {
	// Scanned every grants.scan_interval: nothing expired, nothing to
	// propose (see ClaimDue).
	if due, _, err := s.firstDue(pGrantExp, now); err != nil || !due {
		return nil, err
	}
	op := &OpGrantClaimExpired{Now: now, Limit: limit}
	if work != nil {
		w := *work
		w.ID = ""
		if w.EnqueuedAt.IsZero() {
			w.EnqueuedAt = time.Now()
		}
		if w.NextAt.IsZero() {
			w.NextAt = w.EnqueuedAt
		}
		op.Work = &w
		op.IDBase, op.IDStep = s.reserveSeqIDs(uint64(max(limit, 1)))
	}
	out, err := applyAs[[]Grant](s, op)
	if err != nil {
		return nil, fmt.Errorf("store: claim expired grants: %w", err)
	}
	return out, nil
}

func claimExpiredGrants(txn *badger.Txn, o *OpGrantClaimExpired) ([]Grant, error) {
	var out []Grant
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = pGrantExp
	iter := txn.NewIterator(opts)
	nowKey := timeKey(o.Now)
	var keys [][]byte
	for iter.Seek(pGrantExp); iter.ValidForPrefix(pGrantExp) && len(keys) < o.Limit; iter.Next() {
		k := iter.Item().Key()
		if string(k[len(pGrantExp):len(pGrantExp)+16]) > nowKey {
			break
		}
		keys = append(keys, iter.Item().KeyCopy(nil))
	}
	iter.Close()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return nil, fmt.Errorf("store: claim grant expiry %s: %w", k, err)
		}
		id := string(k[len(pGrantExp)+17:])
		g, err := getGrant(txn, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if g.State != GrantActive {
			continue
		}
		if o.Work != nil {
			w := *o.Work
			w.ID = hex16(o.IDBase + uint64(len(out))*max(o.IDStep, 1))
			w.Key, w.Ref, w.Plugin = "grant-"+g.ID, g.ID, g.Plugin
			if err := enqueueTx(txn, &w); err != nil {
				return nil, err
			}
		}
		out = append(out, *g)
	}
	return out, nil
}

// ListGrants returns grants matching f, newest first.
func (s *Store) ListGrants(f GrantFilter) ([]Grant, error) {
	all, err := viewAll[Grant](s, pGrant, 0, "list grants")
	if err != nil {
		return nil, err
	}
	var aliases []string
	if f.User != "" {
		aliases = append(aliases, f.User)
		if u, err := s.LookupUser(f.User); err == nil && u != nil {
			aliases = append(aliases, u.ID, u.Login, u.Email)
		}
	}
	out := make([]Grant, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		g := &all[i]
		if f.App != "" && !strings.EqualFold(g.App, f.App) {
			continue
		}
		if f.State != "" && g.State != f.State {
			continue
		}
		if f.User != "" && !grantMatchesUser(g, aliases) {
			continue
		}
		out = append(out, *g)
	}
	return out, nil
}

func grantMatchesUser(g *Grant, aliases []string) bool {
	for _, a := range aliases {
		if a == "" {
			continue
		}
		if strings.EqualFold(a, g.User) || (g.UserID != "" && a == g.UserID) {
			return true
		}
	}
	return false
}

// GrantStats counts grants by state (for metrics).
func (s *Store) GrantStats() (map[string]int, error) {
	gs, err := s.ListGrants(GrantFilter{})
	if err != nil {
		return nil, err
	}
	m := map[string]int{GrantActive: 0, GrantRevoked: 0, GrantFailed: 0}
	for _, g := range gs {
		m[g.State]++
	}
	return m, nil
}
