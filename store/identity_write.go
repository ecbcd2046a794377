package store

import (
	"errors"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// kind describes one entity type: its record prefix and field count, and
// which fields are indexed.
type kind struct {
	name    string
	prefix  string
	nfields int
	index   map[int]string // field position -> index prefix
}

var (
	kindUser  = &kind{"user", pUser, userFieldCount, map[int]string{fLogin: pLogin, fEmail: pEmail}}
	kindGroup = &kind{"group", pGroup, groupFieldCount, map[int]string{fGroupName: pGroupName}}
	kindApp   = &kind{"app", pApp, appFieldCount, nil}
)

// load reads an entity record in tx; ok is false when there is none.
func loadEntity(txn *badger.Txn, k *kind, id string) (e *entity, ok bool, err error) {
	item, err := txn.Get(key(k.prefix, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return &entity{F: make([]reg, k.nfields)}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	err = item.Value(func(v []byte) error {
		e, err = decodeEntity(v, k.nfields)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return e, true, nil
}

// load is loadEntity through the transaction's record cache: an event
// touches a user or group, then links it, and a batch touches the same group
// many times, so each record is read from Badger (and decoded) at most once
// per transaction. The returned record may be changed in place only if it is
// then written with put.
func (tx *writeTx) load(k *kind, id string) (*entity, bool, error) {
	kb := key(k.prefix, id)
	if e, ok := tx.ents[string(kb)]; ok {
		return e, true, nil
	}
	e, ok, err := loadEntity(tx.txn, k, id)
	if ok {
		tx.cache(kb, e)
	}
	return e, ok, err
}

func (tx *writeTx) cache(kb []byte, e *entity) {
	if tx.ents == nil {
		tx.ents = make(map[string]*entity, 16)
	}
	tx.ents[string(kb)] = e
}

// put writes the record and keeps it in the transaction's cache.
func (tx *writeTx) put(k *kind, id string, e *entity) error {
	kb := key(k.prefix, id)
	if _, known := tx.ents[string(kb)]; !known && k == kindUser {
		// Every load of an existing record caches it, so a record put
		// without being cached first is new.
		tx.newUsers = append(tx.newUsers, id)
	}
	if err := tx.txn.Set(kb, encodeEntity(e)); err != nil {
		return err
	}
	tx.cache(kb, e)
	return nil
}

// fieldWins reports whether a write of a non-empty value at at replaces r: a
// field never written always takes it, otherwise at must be newer.
func fieldWins(r reg, at Stamp) bool {
	if r.V == "" && r.S.isZero() {
		return true
	}
	return at.After(r.S)
}

// touch creates the entity as a stub if unknown and applies each non-empty
// value of vals whose register is older than at, keeping indexes in step.
// Nothing is written when nothing changes.
func (tx *writeTx) touch(k *kind, id string, at Stamp, vals []string) error {
	if err := checkID(k.name, id); err != nil {
		return err
	}
	if err := checkStamp(at); err != nil {
		return err
	}
	e, ok, err := tx.load(k, id)
	if err != nil {
		return err
	}
	changed := !ok
	for i, v := range vals {
		if v == "" || !fieldWins(e.F[i], at) {
			continue
		}
		old := e.F[i]
		if old.V == v && old.S == at {
			continue
		}
		e.F[i] = reg{V: v, S: at}
		changed = true
		if ip, indexed := k.index[i]; indexed && !strings.EqualFold(old.V, v) {
			if err := tx.claim(ip, old.V, v, id, at); err != nil {
				return err
			}
		}
	}
	if !changed {
		return nil
	}
	return tx.put(k, id, e)
}

// setLife writes the entity's life register (status or tombstone) when at is
// newer, creating a stub first if needed. A delete also raises the entity's
// latest-delete stamp, whatever the register holds, so edges older than any
// delete stay hidden in every arrival order.
func (tx *writeTx) setLife(k *kind, id string, state byte, value string, at Stamp) error {
	if err := checkID(k.name, id); err != nil {
		return err
	}
	if err := checkStamp(at); err != nil {
		return err
	}
	e, ok, err := tx.load(k, id)
	if err != nil {
		return err
	}
	changed := !ok
	if e.Life == lifeStub || at.After(e.Value.S) {
		if e.Life != state || e.Value.V != value || e.Value.S != at {
			e.Life, e.Value = state, reg{V: value, S: at}
			changed = true
		}
	}
	if state == lifeDeleted && at.After(e.Del) {
		e.Del = at
		changed = true
	}
	if !changed {
		return nil
	}
	return tx.put(k, id, e)
}

// ensure creates a stub record for id when none exists.
func (tx *writeTx) ensure(k *kind, id string) error {
	kb := key(k.prefix, id)
	if _, ok := tx.ents[string(kb)]; ok {
		return nil // read or written earlier in this transaction
	}
	_, err := tx.txn.Get(kb)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return tx.put(k, id, &entity{F: make([]reg, k.nfields)})
	}
	return err
}

// setEdge writes the edge register from->to (and its reverse) when at is
// newer than the stored stamp, creating stub ends as needed.
func (tx *writeTx) setEdge(fromK, toK *kind, fwd, rev, from, to string, present bool, at Stamp) error {
	return tx.setEdgeFacts(fromK, toK, fwd, rev, from, to, present, "", at)
}

// setEdgeFacts is setEdge keeping fact (when not "") after the stamp in the
// edge's value; an empty fact keeps the stored one.
func (tx *writeTx) setEdgeFacts(fromK, toK *kind, fwd, rev, from, to string, present bool, fact string, at Stamp) error {
	if err := checkID(fromK.name, from); err != nil {
		return err
	}
	if err := checkID(toK.name, to); err != nil {
		return err
	}
	if err := checkStamp(at); err != nil {
		return err
	}
	k := edgeKey(fwd, from, to)
	item, err := tx.txn.Get(k)
	switch {
	case err == nil:
		var old Stamp
		var oldFact string
		if err := item.Value(func(v []byte) error {
			old, oldFact, err = decodeEdge(v)
			return err
		}); err != nil {
			return err
		}
		if !at.After(old) {
			return nil
		}
		if fact == "" {
			fact = oldFact
		}
	case errors.Is(err, badger.ErrKeyNotFound):
		if err := tx.ensure(fromK, from); err != nil {
			return err
		}
		if err := tx.ensure(toK, to); err != nil {
			return err
		}
	default:
		return err
	}
	var meta byte
	if present {
		meta = edgePresent
	}
	val := appendEdge(nil, at, fact)
	if err := tx.txn.SetEntry(badger.NewEntry(k, val).WithMeta(meta)); err != nil {
		return err
	}
	return tx.txn.SetEntry(badger.NewEntry(edgeKey(rev, to, from), val).WithMeta(meta))
}

// claim records in the index under prefix that id holds value since at
// (the register just took it) and that it gave up its previous value at
// at. Index entries carry these stamps so that a lookup can tell the
// newest claim from stale ones (see reader.byIndex). A later write of the
// same value only refreshes the register's stamp, which lookups read as
// the claim's time, so an unchanged login costs no index write.
func (tx *writeTx) claim(prefix, old, value, id string, at Stamp) error {
	if old != "" && !strings.EqualFold(old, value) {
		if err := tx.txn.Set(indexKey(prefix, old, id), encodeClaim(false, at)); err != nil {
			return err
		}
	}
	return tx.txn.Set(indexKey(prefix, value, id), encodeClaim(true, at))
}

// UserIDByLogin finds a live user's id by login (case-insensitive) inside
// the transaction, seeing the transaction's own writes. Event appliers use
// it to resolve a user known only by login (an AppUser target).
func (tx *writeTx) UserIDByLogin(login string) (string, bool, error) {
	id, err := newReader(tx.txn).byIndex(pLogin, login, kindUser, fLogin)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return id, true, nil
}
