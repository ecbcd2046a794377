package store

import (
	"encoding/json"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Stamp orders writes to one item (a user's status, a group's profile, a
// membership edge...): the later Published wins; equal times are broken by
// the larger UUID so that applying the same events in any order converges.
type Stamp struct {
	Published time.Time `json:"published"`
	UUID      string    `json:"uuid,omitempty"`
}

// After reports whether a is strictly later than b.
func (a Stamp) After(b Stamp) bool {
	if !a.Published.Equal(b.Published) {
		return a.Published.After(b.Published)
	}
	return a.UUID > b.UUID
}

// User is a user as the admin API and plugins read it.
type User struct {
	ID          string   `json:"id"`
	Login       string   `json:"login"`
	Email       string   `json:"email"`
	DisplayName string   `json:"displayName"`
	FirstName   string   `json:"firstName"`
	LastName    string   `json:"lastName"`
	Status      *string  `json:"status"` // nil until a lifecycle event or sync sets it
	Groups      []string `json:"groups"` // group ids, sorted; never nil
	Apps        []string `json:"apps"`   // app-user assignments (direct, group- or rule-driven) app ids, sorted; never nil

	// Type is the Okta user type id (oty…), "" until a sync or lookup.
	Type string `json:"type"`
	// Created, Activated, StatusChanged and LastUpdated are Okta's
	// timestamps (RFC 3339), "" until a sync or lookup reads them.
	Created       string `json:"created"`
	Activated     string `json:"activated"`
	StatusChanged string `json:"statusChanged"`
	LastUpdated   string `json:"lastUpdated"`
	// Profile is every attribute of the Okta profile, base and custom, as
	// JSON values; never nil. The base attributes known from events
	// (login, email, names) are there even before a sync.
	Profile map[string]json.RawMessage `json:"profile"`
	// ProfileTypes gives each attribute's type (string, number, integer,
	// boolean, array, object): the user schema's where the sync read it,
	// else the value's JSON type.
	ProfileTypes map[string]string `json:"profileTypes"`
	// AdminRoles are the user's admin role assignments; never nil.
	AdminRoles []AdminRole `json:"adminRoles"`
}

// IsSuperAdmin reports whether the user holds the SUPER_ADMIN role.
func (u *User) IsSuperAdmin() bool {
	for _, r := range u.AdminRoles {
		if r.Type == "SUPER_ADMIN" {
			return true
		}
	}
	return false
}

// Group is a group as the admin API and plugins read it.
type Group struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Members     []string `json:"members"` // user ids, sorted; never nil
	Apps        []string `json:"apps"`    // app ids, sorted; never nil
	// Type is OKTA_GROUP, APP_GROUP or BUILT_IN ("" until a sync says).
	Type string `json:"type"`
	// Profile is every attribute of the group's Okta profile (name and
	// description included) from the last sync; never nil.
	Profile map[string]json.RawMessage `json:"profile"`
}

// App is an Okta app instance.
type App struct {
	ID string `json:"id"`
	// Name is the API name of the app's catalog integration, as the Apps
	// API lists it ("oidc_client", "amazon_aws", "saasure" for the Admin
	// Console): two instances of one catalog app share it. Only the full
	// sync writes it (no modelled event carries it), so it is "" for an app
	// known from events alone.
	Name string `json:"name"`
	// Label is the instance's own name ("AWS Prod", "TestWEbApp01"): the
	// AppInstance target's alternateId in events, the Apps API's label in
	// a sync; the newer of the two wins.
	Label  string   `json:"label"`
	Groups []string `json:"groups"`
	// Users are the ids of users with an app-user assignment: direct ones
	// and, since Okta logs application.user_membership.add for them too,
	// group- and rule-driven ones (see README.md).
	Users []string `json:"users"`
	// UserNames maps user ids in Users to the user's name in the app (the
	// AppUser target's alternateId in events, credentials.userName in the
	// sync's app-user listing), when known.
	UserNames map[string]string `json:"userNames,omitempty"`
}

// UserFacts are profile fields learned about a user; an empty field means
// "not known from this source" and never overwrites a known value.
type UserFacts struct {
	ID, Login, Email, DisplayName, FirstName, LastName string
	// Type and the timestamps come from the Management API only.
	Type, Created, Activated, StatusChanged, LastUpdated string
}

// GroupFacts are profile fields learned about a group.
type GroupFacts struct {
	ID, Name, Description string
	Type                  string // OKTA_GROUP, APP_GROUP, BUILT_IN (Management API only)
}

// AppFacts are fields learned about an app instance (see App).
type AppFacts struct {
	ID, Name, Label string
}

// AppUserFacts are facts kept on an app-user assignment edge. An empty
// field keeps what the edge knew.
type AppUserFacts struct {
	UserName string // the user's name in the app (AppUser alternateId)
}

// writeTx is a read-write transaction over the store's typed keys, in
// which an Op runs (ApplyLocal); tests obtain one from Store.write.
type writeTx struct {
	txn  *badger.Txn
	s    *Store
	ents map[string]*entity // existing records read or written in this transaction (see writeTx.load)
	// newUsers are the users this transaction created (first seen).
	newUsers []string
	// kv is the quota accounting of a kv op's plugin (kv_quota.go); nil
	// for other ops.
	kv *kvAccount
	// run is shared by the entries of a replicated log applied in one
	// transaction (ApplyEntries); nil otherwise.
	run *runState
	// lap is the watermark key this transaction wrote (nil: none); once
	// it committed, the store's lapTop is raised to it.
	lap []byte
}

// runState is what the ops of one ApplyEntries transaction pass on to
// the next, where reading the committed view would miss it.
type runState struct {
	lap []byte // the greatest watermark key written in the run
}

// NewUsers returns the ids of the users this transaction created: users
// first seen in it (as an event target or a sync listing), in order.
func (tx *writeTx) NewUsers() []string { return tx.newUsers }

// write runs fn in one read-write transaction committed with synced writes
// (see update for the retry contract), outside the op list: store tests
// only. Identity reads cached before it are not served once it returned.
func (s *Store) write(fn func(tx *writeTx) error) error {
	defer s.cache.invalidate()
	var tx *writeTx
	err := s.update(func(txn *badger.Txn) error {
		tx = &writeTx{txn: txn, s: s}
		return fn(tx)
	})
	if err == nil && tx.lap != nil {
		s.raiseLapTop(tx.lap)
	}
	return err
}
