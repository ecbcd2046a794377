package store

import (
	"errors"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// reader serves identity reads inside one transaction, caching decoded
// records so that a list or a member check decodes each entity once.
type reader struct {
	txn   *badger.Txn
	cache map[string]*entity // prefix+id -> record; nil value = no record
}

func newReader(txn *badger.Txn) *reader {
	return &reader{txn: txn, cache: make(map[string]*entity)}
}

// entity returns the record for id, or nil when there is none.
func (r *reader) entity(k *kind, id string) (*entity, error) {
	ck := k.prefix + id
	if e, ok := r.cache[ck]; ok {
		return e, nil
	}
	e, ok, err := loadEntity(r.txn, k, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		e = nil
	}
	r.cache[ck] = e
	return e, nil
}

// live returns the live record for id or ErrNotFound.
func (r *reader) live(k *kind, id string) (*entity, error) {
	if checkID(k.name, id) != nil {
		return nil, ErrNotFound
	}
	e, err := r.entity(k, id)
	if err != nil {
		return nil, err
	}
	if e == nil || !e.live() {
		return nil, ErrNotFound
	}
	return e, nil
}

// edges lists the ids at the far end of the visible edges leaving from
// (whose record is self), in id order. Only keys and UserMeta are read for
// removed edges; present edges decode their stamp.
func (r *reader) edges(prefix, from string, self *entity, other *kind) ([]string, error) {
	return r.edgesFacts(prefix, from, self, other, nil)
}

// edgesFacts is edges also reporting each visible edge's fact, when it has
// one, to fact.
func (r *reader) edgesFacts(prefix, from string, self *entity, other *kind, fact func(id, f string)) ([]string, error) {
	out := []string{}
	p := edgePrefix(prefix, from)
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = p
	it := r.txn.NewIterator(opts)
	defer it.Close()
	type cand struct {
		id, fact string
		at       Stamp
	}
	var cands []cand
	for it.Seek(p); it.ValidForPrefix(p); it.Next() {
		item := it.Item()
		if item.UserMeta()&edgePresent == 0 {
			continue
		}
		var at Stamp
		var f string
		err := item.Value(func(v []byte) error {
			var err error
			at, f, err = decodeEdge(v)
			return err
		})
		if err != nil {
			return nil, err
		}
		if !self.shows(at) {
			continue
		}
		cands = append(cands, cand{string(item.Key()[len(p):]), f, at})
	}
	it.Close()
	for _, c := range cands {
		e, err := r.entity(other, c.id)
		if err != nil {
			return nil, err
		}
		if e != nil && e.shows(c.at) {
			out = append(out, c.id)
			if fact != nil && c.fact != "" {
				fact(c.id, c.fact)
			}
		}
	}
	return out, nil
}

func (r *reader) user(id string) (*User, error) {
	e, err := r.live(kindUser, id)
	if err != nil {
		return nil, err
	}
	u := &User{
		ID:          id,
		Login:       e.F[fLogin].V,
		Email:       e.F[fEmail].V,
		DisplayName: e.F[fDisplayName].V,
		FirstName:   e.F[fFirstName].V,
		LastName:    e.F[fLastName].V,

		Type:          e.F[fUserType].V,
		Created:       e.F[fCreated].V,
		Activated:     e.F[fActivated].V,
		StatusChanged: e.F[fStatusChanged].V,
		LastUpdated:   e.F[fLastUpdated].V,
		AdminRoles:    rolesOf(e),
	}
	u.Profile, u.ProfileTypes = profileOf(e, baseAttrs)
	if e.Life == lifeSet {
		st := e.Value.V
		u.Status = &st
	}
	if u.Groups, err = r.edges(pUG, id, e, kindGroup); err != nil {
		return nil, err
	}
	if u.Apps, err = r.edges(pUA, id, e, kindApp); err != nil {
		return nil, err
	}
	return u, nil
}

func (r *reader) group(id string) (*Group, error) {
	e, err := r.live(kindGroup, id)
	if err != nil {
		return nil, err
	}
	g := &Group{ID: id, Name: e.F[fGroupName].V, Description: e.F[fGroupDescription].V, Type: e.F[fGroupType].V}
	g.Profile, _ = profileOf(e, nil)
	if g.Members, err = r.edges(pGM, id, e, kindUser); err != nil {
		return nil, err
	}
	if g.Apps, err = r.edges(pGA, id, e, kindApp); err != nil {
		return nil, err
	}
	return g, nil
}

func (r *reader) app(id string) (*App, error) {
	e, err := r.live(kindApp, id)
	if err != nil {
		return nil, err
	}
	a := &App{ID: id, Name: e.F[fAppName].V, Label: e.F[fAppLabel].V}
	if a.Groups, err = r.edges(pAG, id, e, kindGroup); err != nil {
		return nil, err
	}
	a.Users, err = r.edgesFacts(pAU, id, e, kindUser, func(uid, name string) {
		if a.UserNames == nil {
			a.UserNames = map[string]string{}
		}
		a.UserNames[uid] = name
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// byIndex resolves value through the multi-valued index under prefix to
// the entity holding it now: the entry with the newest claim (or release)
// decides, and it resolves only if it is a claim whose entity is live and
// still carries the value in its field register (a held entry's time is
// the later of the entry's stamp and that register's). So a login taken over by
// another user resolves to the newer holder whatever order the writes came
// in, and the older holder never gets it back by the newer one's delete,
// rename or silence: only a newer claim of its own does that (the older
// holder stays readable by id).
func (r *reader) byIndex(prefix, value string, k *kind, field int) (string, error) {
	c, err := r.claimOf(prefix, value, k, field)
	if err != nil {
		return "", err
	}
	if !c.ok {
		return "", ErrNotFound
	}
	return c.id, nil
}

// indexClaim is the decisive index entry for one value.
type indexClaim struct {
	id  string
	at  Stamp
	ok  bool // a claim by a live entity whose register still holds the value
	any bool // some entry exists
}

// newer orders index entries: the later stamp wins; at equal stamps a claim
// beats a release, then the smaller id wins (the order before stamps).
func (c indexClaim) newer(o indexClaim, held, oHeld bool) bool {
	if !c.at.Published.Equal(o.at.Published) || c.at.UUID != o.at.UUID {
		return c.at.After(o.at)
	}
	if held != oHeld {
		return held
	}
	return c.id < o.id
}

func (r *reader) claimOf(prefix, value string, k *kind, field int) (indexClaim, error) {
	var best indexClaim
	if value == "" {
		return best, nil
	}
	p := indexPrefix(prefix, value)
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = p
	it := r.txn.NewIterator(opts)
	type entry struct {
		id     string
		held   bool
		legacy bool
		at     Stamp
	}
	var ents []entry
	for it.Seek(p); it.ValidForPrefix(p); it.Next() {
		item := it.Item()
		e := entry{id: string(item.Key()[len(p):])}
		err := item.Value(func(v []byte) error {
			var err error
			e.held, e.at, e.legacy, err = decodeClaim(v)
			return err
		})
		if err != nil {
			it.Close()
			return best, err
		}
		ents = append(ents, e)
	}
	it.Close()
	bestHeld := false
	for _, e := range ents {
		c := indexClaim{id: e.id, at: e.at, any: true}
		if e.held {
			ent, err := r.entity(k, e.id)
			if err != nil {
				return best, err
			}
			holds := ent != nil && strings.EqualFold(ent.F[field].V, value)
			if !holds {
				continue // the register moved on (an entry written before releases were kept)
			}
			// The register's stamp moves with every write that restates the
			// value: the claim is as recent as the latest of them.
			if r := ent.F[field].S; e.legacy || r.After(c.at) {
				c.at = r
			}
			c.ok = ent.live()
		}
		if !best.any || c.newer(best, e.held, bestHeld) {
			best, bestHeld = c, e.held
		}
	}
	return best, nil
}

// byEmail resolves an email: the newer of the email index's and the login
// index's current holders (Okta event targets carry only the login, usually
// the email address, so a user known from events alone is found by it, and
// a stale synced email never hides a newer login claim).
func (r *reader) byEmail(email string) (string, error) {
	e, err := r.claimOf(pEmail, email, kindUser, fEmail)
	if err != nil {
		return "", err
	}
	l, err := r.claimOf(pLogin, email, kindUser, fLogin)
	if err != nil {
		return "", err
	}
	switch {
	case e.ok && l.ok:
		if l.at.After(e.at) {
			return l.id, nil
		}
		return e.id, nil
	case e.ok:
		return e.id, nil
	case l.ok:
		return l.id, nil
	}
	return "", ErrNotFound
}

// resolveUser maps an id, login or email to a live user id: an id first,
// then the login's current holder, then the email's.
func (r *reader) resolveUser(ref string) (string, error) {
	if _, err := r.live(kindUser, ref); err == nil {
		return ref, nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	id, err := r.byIndex(pLogin, ref, kindUser, fLogin)
	if errors.Is(err, ErrNotFound) {
		return r.byIndex(pEmail, ref, kindUser, fEmail)
	}
	return id, err
}

// resolveGroup maps an id or name to a live group id.
func (r *reader) resolveGroup(ref string) (string, error) {
	if _, err := r.live(kindGroup, ref); err == nil {
		return ref, nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	return r.byIndex(pGroupName, ref, kindGroup, fGroupName)
}

func (r *reader) isMember(userRef, groupRef string) (bool, error) {
	uid, err := r.resolveUser(userRef)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	gid, err := r.resolveGroup(groupRef)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	item, err := r.txn.Get(edgeKey(pGM, gid, uid))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if item.UserMeta()&edgePresent == 0 {
		return false, nil
	}
	var at Stamp
	if err := item.Value(func(v []byte) error {
		at, err = decodeStamp(v)
		return err
	}); err != nil {
		return false, err
	}
	u, _ := r.entity(kindUser, uid)
	g, _ := r.entity(kindGroup, gid)
	return u != nil && g != nil && u.shows(at) && g.shows(at), nil
}

// listLive returns up to limit ids of live entities with id > after, and the
// next cursor ("" on the last page). It looks one live entity ahead so the
// last page never carries a cursor.
func (r *reader) listLive(k *kind, after string, limit int) ([]string, string, error) {
	return r.search(k, "", after, limit, nil)
}

// readAll reads every id with get, in order, for the list and search pages.
func readAll[T any](ids []string, get func(string) (*T, error)) ([]T, error) {
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		v, err := get(id)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}
