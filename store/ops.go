package store

// The store operations: the complete list of ways the store's state can
// change. Every write any package makes is one of the Op values below,
// applied through Store.apply, the single choke point:
//
//	caller (gateway, okta, plugins)
//	  -> public method (Store.Ingest, Store.KVSet, ...): validates its
//	     arguments, assigns ids and times (newSeqID, time.Now) and builds
//	     an Op holding only plain values
//	  -> Store.apply(op) -> Writer.Apply(op)
//	       local (default): Store.ApplyLocal(op): one synced Badger
//	       transaction (retried on conflict), identity read cache
//	       invalidated after identity ops
//	       cluster: propose EncodeOp(op) to the Raft log, wait until this
//	       node's FSM ran ApplyLocal(DecodeOp(entry)), return its result
//
// An op is deterministic: its effect depends only on its fields and the
// store's current state. It reads no clock, draws no random number and
// calls no callback, so every node applying the same log to the same
// snapshot reaches the same state. (One exception that does not change
// what any read returns: OpSetWatermark's clean-up of stale watermark
// entries depends on how many calls this process made.)
//
// Okta event log and identity state
//
//	OpIngest           apply one Okta delivery: record its rejected
//	                   elements, and for each event not seen before log
//	                   it, apply its identity changes, enqueue its
//	                   plugin work; raise the watermark. Split into
//	                   several commits when too big for one.
//	OpApplyIdentity    apply identity changes (a sync page, a seed)
//	OpSetWatermark     raise the last-applied published time
//
// Plugin work queue and dead letters
//
//	OpEnqueue          add a work item
//	OpQueueClaim       lease due items to a worker run
//	OpQueueAck         remove a completed item (and change its grant)
//	OpQueueRetry       record a failed attempt and schedule the next
//	OpQueueDeadLetter  move an item to dead letters (and change its grant)
//	OpQueueRecover     rebuild the due index, release earlier runs' leases
//	OpDeadLetterReplay put a dead letter back in the queue as a new item
//	OpDeadLetterDrop   delete a dead letter
//
// Grants
//
//	OpGrantRecord        store a new grant (and index its expiry)
//	OpGrantTransition    revoke, fail or annotate a grant
//	OpGrantClaimExpired  take expired grants off the expiry index and
//	                     enqueue their deprovisioning
//
// Plugin key/value state and audit
//
//	OpKVSet, OpKVDelete  one plugin key
//	OpKVIncr             add to a decimal counter (created at 0)
//	OpKVCompareAndSet    set a key only if it holds an expected value
//	OpAuditAppend        a batch of audit records
//
// Adding an operation: a struct of exported plain fields named Op…, an
// OpName and a run method below, an entry in opTypes (EncodeOp/DecodeOp
// and the round-trip test use it), a line in the list above, and a
// public method that builds it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/fxamacker/cbor/v2"
)

// Op is one store operation (see the list at the top of ops.go). Only this
// package defines ops; other packages build them through Store's methods
// or, for a replicated log, receive them from DecodeOp.
type Op interface {
	// OpName is the operation's stable name, e.g. "queue.ack".
	OpName() string
	// run applies the op inside tx. It may run more than once (conflict
	// retries), so it must start from scratch each time and not modify
	// the op.
	run(tx *writeTx) (any, error)
}

// Writer applies store operations. The default writer applies them to the
// local Badger (Store.ApplyLocal); a cluster replaces it (SetWriter) with
// one that proposes each op to a replicated log and returns once this
// node applied it.
type Writer interface {
	// Apply applies op durably and returns its result (see each op's
	// doc comment for the result type).
	Apply(op Op) (any, error)
}

// localWriter is the single-node Writer.
type localWriter struct{ s *Store }

func (w localWriter) Apply(op Op) (any, error) { return w.s.ApplyLocal(op) }

// SetWriter routes every subsequent store operation through w (nil: back
// to local apply). Call it before the store is used for writes.
func (s *Store) SetWriter(w Writer) {
	if w == nil {
		w = localWriter{s}
	}
	s.writer = w
}

// apply is the choke point: every mutating method of Store ends here.
func (s *Store) apply(op Op) (any, error) { return s.writer.Apply(op) }

// applyAs is apply with the result's type asserted.
func applyAs[T any](s *Store, op Op) (T, error) {
	res, err := s.apply(op)
	if err != nil {
		var zero T
		return zero, err
	}
	v, _ := res.(T)
	return v, nil
}

// identityOp marks ops that change identity state (the read cache is
// invalidated after them).
type identityOp interface{ changesIdentity() }

// hotOp marks read-modify-write ops on one hot key (kv counters), which
// get more conflict retries (updateKV).
type hotOp interface{ hot() }

// splitOp is an op that can be applied as two halves, one commit each,
// when it is too big for one Badger transaction.
type splitOp interface {
	split() (a, b Op, ok bool)
	merge(a, b any) any
}

// ApplyLocal applies op to this node's Badger in one synced transaction
// (retried from scratch on a conflict with a concurrent transaction; an op
// that implements splitting is split in halves while it is too big for
// one transaction). It is what the default Writer does and what a
// replicated log's state machine calls for each committed entry.
func (s *Store) ApplyLocal(op Op) (any, error) { return s.applyLocal(op, 0) }

// applyLocal is ApplyLocal; index > 0 is the Raft log index of the entry
// op came from, recorded as applied in the same commit (replica.go).
func (s *Store) applyLocal(op Op, index uint64) (any, error) {
	if _, ok := op.(identityOp); ok {
		defer s.cache.invalidate()
	}
	var res any
	// A kv op runs under its plugin's quota lock, and its change to the
	// namespace's counts is kept once it committed (kv_quota.go).
	var acct *kvAccount
	if ko, ok := op.(kvOp); ok {
		u := s.kvUsageOf(ko.kvPlugin())
		u.mu.Lock()
		defer u.mu.Unlock()
		acct = &kvAccount{u: u}
		defer func() { acct.settle() }()
	}
	var tx *writeTx
	fn := func(txn *badger.Txn) error {
		var err error
		if acct != nil {
			acct.reset()
		}
		tx = &writeTx{txn: txn, s: s, kv: acct}
		res, err = op.run(tx)
		if err == nil && index > 0 {
			err = setAppliedIndex(txn, index)
		}
		return err
	}
	var err error
	if _, hot := op.(hotOp); hot {
		err = s.updateKV(fn)
	} else {
		err = s.update(fn)
	}
	if errors.Is(err, badger.ErrTxnTooBig) {
		if sp, ok := op.(splitOp); ok {
			if a, b, ok := sp.split(); ok {
				ra, err := s.applyLocal(a, 0)
				if err != nil {
					return nil, err
				}
				rb, err := s.applyLocal(b, index)
				if err != nil {
					return nil, err
				}
				return sp.merge(ra, rb), nil
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if tx.lap != nil {
		s.raiseLapTop(tx.lap)
	}
	if acct != nil {
		acct.committed = true
	}
	return res, nil
}

// opTypes maps every op name to a constructor of its zero value.
var opTypes = map[string]func() Op{
	(&OpIngest{}).OpName():            func() Op { return &OpIngest{} },
	(&OpApplyIdentity{}).OpName():     func() Op { return &OpApplyIdentity{} },
	(&OpSetWatermark{}).OpName():      func() Op { return &OpSetWatermark{} },
	(&OpEnqueue{}).OpName():           func() Op { return &OpEnqueue{} },
	(&OpQueueClaim{}).OpName():        func() Op { return &OpQueueClaim{} },
	(&OpQueueAck{}).OpName():          func() Op { return &OpQueueAck{} },
	(&OpQueueRetry{}).OpName():        func() Op { return &OpQueueRetry{} },
	(&OpQueueDeadLetter{}).OpName():   func() Op { return &OpQueueDeadLetter{} },
	(&OpQueueRecover{}).OpName():      func() Op { return &OpQueueRecover{} },
	(&OpDeadLetterReplay{}).OpName():  func() Op { return &OpDeadLetterReplay{} },
	(&OpDeadLetterDrop{}).OpName():    func() Op { return &OpDeadLetterDrop{} },
	(&OpGrantRecord{}).OpName():       func() Op { return &OpGrantRecord{} },
	(&OpGrantTransition{}).OpName():   func() Op { return &OpGrantTransition{} },
	(&OpGrantClaimExpired{}).OpName(): func() Op { return &OpGrantClaimExpired{} },
	(&OpKVSet{}).OpName():             func() Op { return &OpKVSet{} },
	(&OpKVDelete{}).OpName():          func() Op { return &OpKVDelete{} },
	(&OpKVIncr{}).OpName():            func() Op { return &OpKVIncr{} },
	(&OpKVCompareAndSet{}).OpName():   func() Op { return &OpKVCompareAndSet{} },
	(&OpAuditAppend{}).OpName():       func() Op { return &OpAuditAppend{} },
}

// OpNames lists every operation name (for tests and documentation).
func OpNames() []string {
	out := make([]string, 0, len(opTypes))
	for n := range opTypes {
		out = append(out, n)
	}
	return out
}

// opFormatCBOR is the first byte of EncodeOp's form: the op name, a zero
// byte, then the op's fields in CBOR (RFC 8949) under their json names.
// JSON entries ({"op": name, "args": {...}}, what EncodeOp wrote before)
// start with '{' and still decode, so a log written by an older node
// replays.
const opFormatCBOR = 0x01

// opEnc and opDec are the CBOR modes of log entries. Times are RFC 3339
// text with nanoseconds and their offset, as encoding/json writes them,
// so a decoded op equals what JSON carried; byte slices (raw JSON
// included) are byte strings, copied without being parsed. The limits
// are raised above what any delivery or sync holds (the defaults cap
// arrays at 131072 elements); the entries come only from the
// authenticated log.
var opEnc, opDec = func() (cbor.EncMode, cbor.DecMode) {
	em, err := cbor.EncOptions{Time: cbor.TimeRFC3339Nano}.EncMode()
	if err != nil {
		panic(err)
	}
	dm, err := cbor.DecOptions{
		MaxArrayElements: math.MaxInt32, MaxMapPairs: math.MaxInt32, MaxNestedLevels: 64,
		DefaultMapType: reflect.TypeOf(map[string]any(nil)),
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return em, dm
}()

// EncodeOp encodes op for a replicated log (opFormatCBOR).
func EncodeOp(op Op) ([]byte, error) {
	name := op.OpName()
	var buf bytes.Buffer
	buf.Grow(len(name) + 512)
	buf.WriteByte(opFormatCBOR)
	buf.WriteString(name)
	buf.WriteByte(0)
	if err := opEnc.NewEncoder(&buf).Encode(op); err != nil {
		return nil, fmt.Errorf("store: encode op %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// encodedOp is the JSON form of entries written before opFormatCBOR.
type encodedOp struct {
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args"`
}

// DecodeOp is EncodeOp's inverse (and reads the older JSON form).
func DecodeOp(b []byte) (Op, error) {
	if len(b) > 0 && b[0] == opFormatCBOR {
		name, args, ok := bytes.Cut(b[1:], []byte{0})
		if !ok {
			return nil, errors.New("store: decode op: no operation name")
		}
		mk, ok := opTypes[string(name)]
		if !ok {
			return nil, fmt.Errorf("store: decode op: unknown operation %q", name)
		}
		op := mk()
		if err := opDec.Unmarshal(args, op); err != nil {
			return nil, fmt.Errorf("store: decode op %s: %w", name, err)
		}
		return op, nil
	}
	var e encodedOp
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("store: decode op: %w", err)
	}
	mk, ok := opTypes[e.Op]
	if !ok {
		return nil, fmt.Errorf("store: decode op: unknown operation %q", e.Op)
	}
	op := mk()
	if err := json.Unmarshal(e.Args, op); err != nil {
		return nil, fmt.Errorf("store: decode op %s: %w", e.Op, err)
	}
	return op, nil
}

// ---- Okta event log and identity state ----

// OpIngest applies one Okta delivery (or System Log page): Items in
// order. A rejected item is kept aside with its reason; an event whose
// uuid was seen (in the store or earlier in Items) counts as a duplicate
// and changes nothing; any other event is logged (expiring at ExpiresAt
// unless zero), its Changes applied and its Work enqueued. Finally the
// watermark is raised to the newest published time accepted. Result:
// IngestResult. Too big for one transaction, it is applied in halves.
type OpIngest struct {
	EnvelopeID string       `json:"envelope_id"`
	Received   time.Time    `json:"received"`
	ExpiresAt  time.Time    `json:"expires_at,omitzero"`
	Items      []IngestItem `json:"items"`
}

// IngestItem is one element of an OpIngest: a rejected element (Rejected
// set) or an event.
type IngestItem struct {
	Rejected *Rejected `json:"rejected,omitempty"`
	// Event is the event as logged (Received is OpIngest's).
	Event LoggedEvent `json:"event,omitzero"`
	// Changes are what the event does to identity state.
	Changes []IdentityChange `json:"changes,omitempty"`
	// Work is enqueued when the event is newly accepted (ids assigned).
	Work []QueueItem `json:"work,omitempty"`
	// Lookup is a user id worth reading from the Management API if the
	// event is newly accepted (IngestResult.Lookups).
	Lookup string `json:"lookup,omitempty"`
}

// LoggedEvent is an event as OpIngest logs it (an EventRecord without
// Received; plain fields, unlike EventRecord's API encoding).
type LoggedEvent struct {
	UUID          string          `json:"uuid"`
	Type          string          `json:"type"`
	Published     time.Time       `json:"published"`
	PublishedText string          `json:"published_text,omitempty"`
	Raw           json.RawMessage `json:"raw"`
}

// IngestResult counts what an OpIngest did.
type IngestResult struct {
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	Rejected   int            `json:"rejected"`
	Types      map[string]int `json:"types"` // accepted events per type
	// Commits is the number of transactions the delivery took (more than
	// one when it was too big for one).
	Commits int `json:"commits"`
	// Lookups are the Lookup of each newly accepted event, then the users
	// the delivery created (first seen), in order, without duplicates.
	Lookups []string `json:"lookups,omitempty"`
}

// OpName implements Op.
func (*OpIngest) OpName() string   { return "events.ingest" }
func (*OpIngest) changesIdentity() {}

func (o *OpIngest) run(tx *writeTx) (any, error) {
	res := IngestResult{Types: map[string]int{}, Commits: 1}
	var newest time.Time
	for i := range o.Items {
		it := &o.Items[i]
		if it.Rejected != nil {
			r := *it.Rejected
			r.EnvelopeID, r.Received = o.EnvelopeID, o.Received
			if err := tx.RecordRejected(r); err != nil {
				return nil, err
			}
			res.Rejected++
			continue
		}
		le := &it.Event
		ev := EventRecord{UUID: le.UUID, Type: le.Type, Published: le.Published, PublishedText: le.PublishedText, Received: o.Received, Raw: le.Raw}
		seen, err := tx.SeenEvent(ev.UUID)
		if err != nil {
			return nil, err
		}
		if seen {
			res.Duplicates++
			continue
		}
		if err := tx.RecordEvent(ev, o.ExpiresAt); err != nil {
			return nil, err
		}
		if err := tx.applyChanges(it.Changes); err != nil {
			return nil, fmt.Errorf("apply %s %s: %w", ev.Type, ev.UUID, err)
		}
		for j := range it.Work {
			w := it.Work[j]
			if err := enqueueTx(tx.txn, &w); err != nil {
				return nil, fmt.Errorf("enqueue %s for event %s: %w", w.Plugin, ev.UUID, err)
			}
		}
		if it.Lookup != "" && !slices.Contains(res.Lookups, it.Lookup) {
			res.Lookups = append(res.Lookups, it.Lookup)
		}
		res.Accepted++
		res.Types[ev.Type]++
		if ev.Published.After(newest) {
			newest = ev.Published
		}
	}
	for _, id := range tx.NewUsers() {
		if !slices.Contains(res.Lookups, id) {
			res.Lookups = append(res.Lookups, id)
		}
	}
	return res, tx.SetLastAppliedPublished(newest)
}

func (o *OpIngest) split() (Op, Op, bool) {
	if len(o.Items) < 2 {
		return nil, nil, false
	}
	mid := len(o.Items) / 2
	a, b := *o, *o
	a.Items, b.Items = o.Items[:mid], o.Items[mid:]
	return &a, &b, true
}

func (o *OpIngest) merge(ra, rb any) any {
	a, b := ra.(IngestResult), rb.(IngestResult)
	a.Accepted += b.Accepted
	a.Duplicates += b.Duplicates
	a.Rejected += b.Rejected
	a.Commits += b.Commits
	for t, n := range b.Types {
		a.Types[t] += n
	}
	for _, id := range b.Lookups {
		if !slices.Contains(a.Lookups, id) {
			a.Lookups = append(a.Lookups, id)
		}
	}
	return a
}

// Identity change kinds (IdentityChange.Kind).
const (
	ChangeTouchUser         = "touch_user"
	ChangeSetUserStatus     = "set_user_status"
	ChangeDeleteUser        = "delete_user"
	ChangeTouchGroup        = "touch_group"
	ChangeCreateGroup       = "create_group"
	ChangeDeleteGroup       = "delete_group"
	ChangeTouchApp          = "touch_app"
	ChangeSetMembership     = "set_membership"
	ChangeSetGroupApp       = "set_group_app"
	ChangeSetAppUser        = "set_app_user"
	ChangeSetAppUserByLogin = "set_app_user_by_login"
	ChangeSetUserProfile    = "set_user_profile"
	ChangeSetGroupProfile   = "set_group_profile"
	ChangeSetUserRole       = "set_user_role"
	ChangeSetUserRoles      = "set_user_roles"
)

// IdentityChange is one last-writer-wins write to identity state, as a
// plain value (build it with TouchUser, SetMembership, ...). Applying the
// same changes in any order, or twice, converges.
type IdentityChange struct {
	Kind  string     `json:"kind"`
	At    Stamp      `json:"at"`
	User  UserFacts  `json:"user,omitzero"`
	Group GroupFacts `json:"group,omitzero"`
	App   AppFacts   `json:"app,omitzero"`
	// AppUser are facts kept on an app/user edge.
	AppUser AppUserFacts `json:"app_user,omitzero"`
	// ID is the user or group a status or delete applies to.
	ID     string `json:"id,omitempty"`
	Status string `json:"status,omitempty"`
	// From and To are an edge's ends (group/user, group/app, app/user).
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Present bool   `json:"present,omitempty"`
	// Login resolves To for ChangeSetAppUserByLogin (an unknown login
	// changes nothing).
	Login string `json:"login,omitempty"`
	// Profile is a full profile read from the Management API.
	Profile ProfileFacts `json:"profile,omitzero"`
	// Role and Roles are admin role registers (one role; every role).
	Role  AdminRole   `json:"role,omitzero"`
	Roles []AdminRole `json:"roles,omitempty"`
	// IfNotNewer makes a delete apply only when nothing the store knows
	// about the entity (fields, status, edges) is newer than At.
	IfNotNewer bool `json:"if_not_newer,omitempty"`
}

// TouchUser creates the user as a stub if unknown and sets each non-empty
// field whose stored stamp is older than at.
func TouchUser(f UserFacts, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeTouchUser, User: f, At: at}
}

// SetUserStatus sets the user's status register.
func SetUserStatus(id, status string, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetUserStatus, ID: id, Status: status, At: at}
}

// DeleteUser tombstones the user (ifNotNewer: only when nothing newer
// than at is known about it).
func DeleteUser(id string, at Stamp, ifNotNewer bool) IdentityChange {
	return IdentityChange{Kind: ChangeDeleteUser, ID: id, At: at, IfNotNewer: ifNotNewer}
}

// TouchGroup creates the group as a stub if unknown and updates profile
// fields older than at.
func TouchGroup(f GroupFacts, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeTouchGroup, Group: f, At: at}
}

// CreateGroup touches the group and sets its existence register.
func CreateGroup(f GroupFacts, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeCreateGroup, Group: f, At: at}
}

// DeleteGroup tombstones the group (ifNotNewer as for DeleteUser).
func DeleteGroup(id string, at Stamp, ifNotNewer bool) IdentityChange {
	return IdentityChange{Kind: ChangeDeleteGroup, ID: id, At: at, IfNotNewer: ifNotNewer}
}

// TouchApp creates or updates an app record.
func TouchApp(f AppFacts, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeTouchApp, App: f, At: at}
}

// SetMembership sets the group/user edge register.
func SetMembership(groupID, userID string, present bool, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetMembership, From: groupID, To: userID, Present: present, At: at}
}

// SetGroupApp sets the group/app assignment edge register.
func SetGroupApp(groupID, appID string, present bool, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetGroupApp, From: groupID, To: appID, Present: present, At: at}
}

// SetAppUser sets the direct app/user assignment edge register.
func SetAppUser(appID, userID string, present bool, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetAppUser, From: appID, To: userID, Present: present, At: at}
}

// SetAppUserFacts is SetAppUser that also keeps f on the edge (a newer
// write's facts win; empty facts keep the edge's).
func SetAppUserFacts(appID, userID string, present bool, f AppUserFacts, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetAppUser, From: appID, To: userID, Present: present, AppUser: f, At: at}
}

// SetAppUserByLogin is SetAppUserFacts for a user known only by login,
// resolved when the change is applied (an unknown login: no change).
func SetAppUserByLogin(appID, login string, present bool, f AppUserFacts, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetAppUserByLogin, From: appID, Login: login, Present: present, AppUser: f, At: at}
}

// SetUserProfile merges a full user profile read at at.
func SetUserProfile(id string, p ProfileFacts, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetUserProfile, ID: id, Profile: p, At: at}
}

// SetGroupProfile merges a full group profile read at at.
func SetGroupProfile(id string, p ProfileFacts, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetGroupProfile, ID: id, Profile: p, At: at}
}

// SetUserRole grants (present) or revokes one admin role.
func SetUserRole(id string, role AdminRole, present bool, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetUserRole, ID: id, Role: role, Present: present, At: at}
}

// SetUserRoles sets the user's admin roles to exactly roles.
func SetUserRoles(id string, roles []AdminRole, at Stamp) IdentityChange {
	return IdentityChange{Kind: ChangeSetUserRoles, ID: id, Roles: roles, At: at}
}

// applyChanges applies cs in order.
func (tx *writeTx) applyChanges(cs []IdentityChange) error {
	for i := range cs {
		if err := tx.applyChange(&cs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (tx *writeTx) applyChange(c *IdentityChange) error {
	switch c.Kind {
	case ChangeTouchUser:
		return tx.TouchUser(c.User, c.At)
	case ChangeSetUserStatus:
		return tx.SetUserStatus(c.ID, c.Status, c.At)
	case ChangeDeleteUser:
		if c.IfNotNewer {
			if last, err := tx.UserLastStamp(c.ID); err != nil || last.After(c.At) {
				return err
			}
		}
		return tx.DeleteUser(c.ID, c.At)
	case ChangeTouchGroup:
		return tx.TouchGroup(c.Group, c.At)
	case ChangeCreateGroup:
		return tx.CreateGroup(c.Group, c.At)
	case ChangeDeleteGroup:
		if c.IfNotNewer {
			if last, err := tx.GroupLastStamp(c.ID); err != nil || last.After(c.At) {
				return err
			}
		}
		return tx.DeleteGroup(c.ID, c.At)
	case ChangeTouchApp:
		return tx.TouchApp(c.App, c.At)
	case ChangeSetMembership:
		return tx.SetMembership(c.From, c.To, c.Present, c.At)
	case ChangeSetGroupApp:
		return tx.SetGroupApp(c.From, c.To, c.Present, c.At)
	case ChangeSetAppUser:
		return tx.SetAppUserFacts(c.From, c.To, c.Present, c.AppUser, c.At)
	case ChangeSetUserProfile:
		return tx.SetUserProfile(c.ID, c.Profile, c.At)
	case ChangeSetGroupProfile:
		return tx.SetGroupProfile(c.ID, c.Profile, c.At)
	case ChangeSetUserRole:
		return tx.SetUserRole(c.ID, c.Role, c.Present, c.At)
	case ChangeSetUserRoles:
		return tx.SetUserRoles(c.ID, c.Roles, c.At)
	case ChangeSetAppUserByLogin:
		id, ok, err := tx.UserIDByLogin(c.Login)
		if err != nil || !ok {
			return err
		}
		return tx.SetAppUserFacts(c.From, id, c.Present, c.AppUser, c.At)
	}
	return fmt.Errorf("store: unknown identity change %q", c.Kind)
}

// OpApplyIdentity applies Changes in one transaction (an Okta sync page).
// Result: nil.
type OpApplyIdentity struct {
	Changes []IdentityChange `json:"changes"`
}

// OpName implements Op.
func (*OpApplyIdentity) OpName() string   { return "identity.apply" }
func (*OpApplyIdentity) changesIdentity() {}

func (o *OpApplyIdentity) run(tx *writeTx) (any, error) {
	return nil, tx.applyChanges(o.Changes)
}

// OpSetWatermark raises the last-applied published time to At (never
// lowers it). Result: nil.
type OpSetWatermark struct {
	At time.Time `json:"at"`
}

// OpName implements Op.
func (*OpSetWatermark) OpName() string { return "events.watermark" }

func (o *OpSetWatermark) run(tx *writeTx) (any, error) {
	return nil, tx.SetLastAppliedPublished(o.At)
}

// ---- queue ----

// OpEnqueue adds Item (its ID, EnqueuedAt and NextAt set) to the queue.
// Result: nil.
type OpEnqueue struct {
	Item QueueItem `json:"item"`
}

// OpName implements Op.
func (*OpEnqueue) OpName() string { return "queue.enqueue" }

func (o *OpEnqueue) run(tx *writeTx) (any, error) {
	it := o.Item
	return nil, enqueueTx(tx.txn, &it)
}

// OpQueueClaim leases up to Limit due items (NextAt <= Now, head of their
// key) to Owner until Now+Lease. Result: ClaimResult.
type OpQueueClaim struct {
	Now   time.Time     `json:"now"`
	Limit int           `json:"limit"`
	Owner string        `json:"owner"`
	Lease time.Duration `json:"lease"`
}

// ClaimResult is OpQueueClaim's result.
type ClaimResult struct {
	Items []QueueItem `json:"items"`
	// Next is the due time of the earliest item not yet due (zero: none).
	Next time.Time `json:"next,omitzero"`
}

// OpName implements Op.
func (*OpQueueClaim) OpName() string { return "queue.claim" }

func (o *OpQueueClaim) run(tx *writeTx) (any, error) { return claimDue(tx.txn, o) }

// OpQueueAck removes the completed item ID leased by Owner, lets the next
// item of its key run and, when Grant is set, applies that grant
// transition in the same transaction. Result: nil.
type OpQueueAck struct {
	ID    string             `json:"id"`
	Owner string             `json:"owner"`
	Grant *OpGrantTransition `json:"grant,omitempty"`
}

// OpName implements Op.
func (*OpQueueAck) OpName() string { return "queue.ack" }

func (o *OpQueueAck) run(tx *writeTx) (any, error) {
	it, err := loadLeased(tx.txn, o.ID, o.Owner)
	if err != nil {
		return nil, err
	}
	if err := removeAndPromote(tx.txn, it); err != nil {
		return nil, err
	}
	if o.Grant != nil {
		_, err = o.Grant.run(tx)
	}
	return nil, err
}

// OpQueueRetry records a failed attempt (LastError) of item ID leased by
// Owner and makes it due again at NextAt. Result: nil.
type OpQueueRetry struct {
	ID        string    `json:"id"`
	Owner     string    `json:"owner"`
	LastError string    `json:"last_error"`
	NextAt    time.Time `json:"next_at"`
}

// OpName implements Op.
func (*OpQueueRetry) OpName() string { return "queue.retry" }

func (o *OpQueueRetry) run(tx *writeTx) (any, error) {
	it, err := loadLeased(tx.txn, o.ID, o.Owner)
	if err != nil {
		return nil, err
	}
	it.LastError, it.NextAt = o.LastError, o.NextAt
	it.LeaseOwner, it.LeaseUntil = "", time.Time{}
	if err := jsonSet(tx.txn, qItemKey(o.ID), it); err != nil {
		return nil, err
	}
	return nil, tx.txn.Set(qDueKey(o.NextAt, o.ID), nil)
}

// OpQueueDeadLetter moves item ID leased by Owner to dead letters (dead
// at At, with LastError), lets the next item of its key run and applies
// Grant when set. Result: nil.
type OpQueueDeadLetter struct {
	ID        string             `json:"id"`
	Owner     string             `json:"owner"`
	LastError string             `json:"last_error"`
	At        time.Time          `json:"at"`
	Grant     *OpGrantTransition `json:"grant,omitempty"`
}

// OpName implements Op.
func (*OpQueueDeadLetter) OpName() string { return "queue.dead_letter" }

func (o *OpQueueDeadLetter) run(tx *writeTx) (any, error) {
	it, err := loadLeased(tx.txn, o.ID, o.Owner)
	if err != nil {
		return nil, err
	}
	if err := removeAndPromote(tx.txn, it); err != nil {
		return nil, err
	}
	it.LastError = o.LastError
	it.LeaseOwner, it.LeaseUntil = "", time.Time{}
	if err := jsonSet(tx.txn, deadKey(o.ID), &DeadLetter{QueueItem: *it, DeadAt: o.At}); err != nil {
		return nil, err
	}
	if o.Grant != nil {
		_, err = o.Grant.run(tx)
	}
	return nil, err
}

// OpQueueRecover rebuilds the due index; heads leased by an owner other
// than Owner are released and due at Now at the latest. Result: int (the
// number released).
type OpQueueRecover struct {
	Owner string    `json:"owner"`
	Now   time.Time `json:"now"`
}

// OpName implements Op.
func (*OpQueueRecover) OpName() string { return "queue.recover" }

func (o *OpQueueRecover) run(tx *writeTx) (any, error) { return recoverQueue(tx.txn, o.Owner, o.Now) }

// OpDeadLetterReplay moves dead letter ID back into the queue as item
// NewID (attempts reset, due at At, last in its key's line). Result:
// QueueItem (the new item).
type OpDeadLetterReplay struct {
	ID    string    `json:"id"`
	NewID string    `json:"new_id"`
	At    time.Time `json:"at"`
}

// OpName implements Op.
func (*OpDeadLetterReplay) OpName() string { return "dlq.replay" }

func (o *OpDeadLetterReplay) run(tx *writeTx) (any, error) {
	var d DeadLetter
	if err := jsonGet(tx.txn, deadKey(o.ID), &d); err != nil {
		return nil, err
	}
	it := d.QueueItem
	it.ID, it.Attempts, it.ReplayOf, it.NextAt = o.NewID, 0, o.ID, o.At
	if it.EnqueuedAt.IsZero() {
		it.EnqueuedAt = o.At
	}
	if err := enqueueTx(tx.txn, &it); err != nil {
		return nil, err
	}
	if err := tx.txn.Delete(deadKey(o.ID)); err != nil {
		return nil, fmt.Errorf("store: delete dead letter %s: %w", o.ID, err)
	}
	return it, nil
}

// OpDeadLetterDrop deletes dead letter ID (ErrNotFound when absent).
// Result: nil.
type OpDeadLetterDrop struct {
	ID string `json:"id"`
}

// OpName implements Op.
func (*OpDeadLetterDrop) OpName() string { return "dlq.drop" }

func (o *OpDeadLetterDrop) run(tx *writeTx) (any, error) {
	if _, err := tx.txn.Get(deadKey(o.ID)); err != nil {
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return nil, tx.txn.Delete(deadKey(o.ID))
}

// ---- grants ----

// OpGrantRecord stores Grant (ID set) and, when active, indexes its
// expiry. Result: nil.
type OpGrantRecord struct {
	Grant Grant `json:"grant"`
}

// OpName implements Op.
func (*OpGrantRecord) OpName() string { return "grant.record" }

func (o *OpGrantRecord) run(tx *writeTx) (any, error) {
	g := o.Grant
	return nil, putGrant(tx.txn, &g)
}

// OpGrantTransition changes grant ID:
//
//	To GrantRevoked: revoked at At by By, LastError cleared (a grant
//	                 already revoked stays as it is)
//	To GrantFailed:  failed with LastError (unless revoked)
//	To "":           only LastError is recorded (a failed attempt that
//	                 will be retried)
//
// A grant that does not exist is an error wrapping ErrNotFound unless
// IgnoreMissing. The expiry index entry goes when the grant is no longer
// active. Result: *Grant (nil when missing and ignored).
type OpGrantTransition struct {
	ID            string    `json:"id"`
	To            string    `json:"to,omitempty"`
	At            time.Time `json:"at,omitzero"`
	By            string    `json:"by,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
	IgnoreMissing bool      `json:"ignore_missing,omitempty"`
}

// OpName implements Op.
func (*OpGrantTransition) OpName() string { return "grant.transition" }

func (o *OpGrantTransition) run(tx *writeTx) (any, error) {
	g, err := getGrant(tx.txn, o.ID)
	if errors.Is(err, ErrNotFound) && o.IgnoreMissing {
		return (*Grant)(nil), nil
	}
	if err != nil {
		return nil, err
	}
	switch o.To {
	case GrantRevoked:
		if g.State == GrantRevoked {
			return g, nil
		}
		at := o.At.UTC()
		g.State, g.RevokedAt, g.RevokedBy, g.LastError = GrantRevoked, &at, o.By, ""
	case GrantFailed:
		if g.State != GrantRevoked {
			g.State = GrantFailed
		}
		g.LastError = o.LastError
	case "":
		g.LastError = o.LastError
	default:
		return nil, fmt.Errorf("store: grant %s: no transition to %q", o.ID, o.To)
	}
	if err := writeGrant(tx.txn, g); err != nil {
		return nil, err
	}
	return g, nil
}

// OpGrantClaimExpired takes up to Limit active grants whose expiry is at
// or before Now off the expiry index and, when Work is set, enqueues for
// each a copy of Work with Key "grant-<id>", Ref the grant id, Plugin the
// grant's plugin and ID IDBase + i*IDStep (i counting claimed grants
// from 0; a zero IDStep is 1). Result: []Grant (the grants claimed).
type OpGrantClaimExpired struct {
	Now    time.Time  `json:"now"`
	Limit  int        `json:"limit"`
	IDBase uint64     `json:"id_base"`
	IDStep uint64     `json:"id_step,omitempty"`
	Work   *QueueItem `json:"work,omitempty"`
}

// OpName implements Op.
func (*OpGrantClaimExpired) OpName() string { return "grant.claim_expired" }

func (o *OpGrantClaimExpired) run(tx *writeTx) (any, error) { return claimExpiredGrants(tx.txn, o) }

// ---- kv and audit ----

// OpKVSet stores Value under the plugin's Key, expiring at ExpiresAt
// (second granularity) unless zero, unless that takes the namespace past
// Quota (zero fields: DefaultKVQuota; an error wrapping ErrKVQuota).
// Result: nil.
type OpKVSet struct {
	Plugin    string    `json:"plugin"`
	Key       string    `json:"key"`
	Value     []byte    `json:"value"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Quota     KVQuota   `json:"quota,omitzero"`
}

// OpName implements Op.
func (*OpKVSet) OpName() string { return "kv.set" }

func (o *OpKVSet) run(tx *writeTx) (any, error) {
	k, err := kvKey(o.Plugin, o.Key)
	if err != nil {
		return nil, err
	}
	old, found, err := kvEntrySize(tx.txn, k, o.Key)
	if err != nil {
		return nil, err
	}
	ch := kvChange{bytes: int64(len(o.Key)+len(o.Value)) - old, ttl: !o.ExpiresAt.IsZero()}
	if !found {
		ch.keys = 1
	}
	if err := tx.kv.check(tx.txn, o.Plugin, o.Key, ch, o.Quota); err != nil {
		return nil, err
	}
	e := badger.NewEntry(k, o.Value)
	if !o.ExpiresAt.IsZero() {
		e.ExpiresAt = expiryUnix(o.ExpiresAt)
	}
	return nil, tx.txn.SetEntry(e)
}

// OpKVDelete removes the plugin's Key (absent: no error). Result: nil.
type OpKVDelete struct {
	Plugin string `json:"plugin"`
	Key    string `json:"key"`
}

// OpName implements Op.
func (*OpKVDelete) OpName() string { return "kv.delete" }

func (o *OpKVDelete) run(tx *writeTx) (any, error) {
	k, err := kvKey(o.Plugin, o.Key)
	if err != nil {
		return nil, err
	}
	old, found, err := kvEntrySize(tx.txn, k, o.Key)
	if err != nil || !found {
		return nil, err
	}
	if err := tx.kv.check(tx.txn, o.Plugin, o.Key, kvChange{keys: -1, bytes: -old}, KVQuota{}); err != nil {
		return nil, err
	}
	return nil, tx.txn.Delete(k)
}

// OpKVIncr adds Delta to the decimal integer under the plugin's Key (a
// missing key counts as 0; a new key expires at ExpiresAt unless zero, an
// existing one keeps its expiry). Result: int64 (the new value); an error
// wrapping ErrKVNotInteger when the key holds something else or the sum
// overflows.
type OpKVIncr struct {
	Plugin    string    `json:"plugin"`
	Key       string    `json:"key"`
	Delta     int64     `json:"delta"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Quota     KVQuota   `json:"quota,omitzero"` // as for OpKVSet
}

// OpName implements Op.
func (*OpKVIncr) OpName() string { return "kv.incr" }
func (*OpKVIncr) hot()           {}

// OpKVCompareAndSet stores Value under the plugin's Key (expiring at
// ExpiresAt unless zero) only if the key holds Old (OldPresent) or is
// absent (!OldPresent). Result: bool (whether it stored).
type OpKVCompareAndSet struct {
	Plugin     string    `json:"plugin"`
	Key        string    `json:"key"`
	Old        []byte    `json:"old,omitempty"`
	OldPresent bool      `json:"old_present"`
	Value      []byte    `json:"value"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	Quota      KVQuota   `json:"quota,omitzero"` // as for OpKVSet
}

// OpName implements Op.
func (*OpKVCompareAndSet) OpName() string { return "kv.compare_and_set" }
func (*OpKVCompareAndSet) hot()           {}

// OpAuditAppend writes Records (IDs and times set), each expiring at
// ExpiresAt. Result: nil.
type OpAuditAppend struct {
	Records   []AuditRecord `json:"records"`
	ExpiresAt time.Time     `json:"expires_at"`
}

// OpName implements Op.
func (*OpAuditAppend) OpName() string { return "audit.append" }

func (o *OpAuditAppend) run(tx *writeTx) (any, error) {
	return nil, appendAudit(tx.txn, o.Records, uint64(o.ExpiresAt.Unix()))
}
