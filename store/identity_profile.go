package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Profile attributes and admin roles.
//
// Every attribute is its own last-writer-wins register, like the fixed
// fields: a full profile read from Okta at stamp S sets each attribute it
// carries and removes each stored attribute it lacks (Okta leaves null
// attributes out), but only where the stored register is older than S. So
// a background lookup that started before a newer event never overwrites
// what the event wrote, whatever order they commit in. The five base
// attributes hookgate always kept (login, email, displayName, firstName,
// lastName) stay in their fields (events write them); the rest live in the
// record's attribute list. Each admin role is a present/absent register
// keyed by its type (or "CUSTOM:" and the label for custom roles), written
// by privilege grant/revoke events and by the sync.

// Attribute types, as the JSON value (or the user schema) says.
const (
	AttrString  = "string"
	AttrNumber  = "number"
	AttrInteger = "integer"
	AttrBoolean = "boolean"
	AttrArray   = "array"
	AttrObject  = "object"
)

// attrType codes in records.
var attrTypeCodes = map[string]byte{
	AttrString: 's', AttrNumber: 'n', AttrInteger: 'i', AttrBoolean: 'b', AttrArray: 'a', AttrObject: 'o',
}

func attrTypeName(c byte) string {
	for k, v := range attrTypeCodes {
		if v == c {
			return k
		}
	}
	return ""
}

// attrReg is one stored profile attribute. V is its raw JSON value; ""
// means removed at S.
type attrReg struct {
	Name string
	T    byte
	V    string
	S    Stamp
}

// roleReg is one admin role register.
type roleReg struct {
	Key, Type, Label string
	On               bool
	S                Stamp
}

// AdminRole is an Okta admin role assignment: Type is SUPER_ADMIN,
// ORG_ADMIN, APP_ADMIN, USER_ADMIN, HELP_DESK_ADMIN, READ_ONLY_ADMIN, ...
// or CUSTOM (then Label names the custom role).
type AdminRole struct {
	Type  string `json:"type"`
	Label string `json:"label"`
}

// roleKey identifies a role register: the type for Okta's standard roles,
// CUSTOM:<lower-cased label> for custom ones.
func roleKey(r AdminRole) string {
	if r.Type == "CUSTOM" || r.Type == "" {
		return "CUSTOM:" + strings.ToLower(r.Label)
	}
	return r.Type
}

// baseAttrs are the profile attributes held in the record's fixed fields.
var baseAttrs = map[string]int{
	"login": fLogin, "email": fEmail, "displayName": fDisplayName, "firstName": fFirstName, "lastName": fLastName,
}

// maxAttrs bounds the attributes kept per record, maxAttrBytes one value.
const (
	maxAttrs     = 512
	maxAttrBytes = 64 << 10
)

// JSONType names the JSON type of a raw value ("" for null or invalid).
func JSONType(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		return AttrString
	case 't', 'f':
		return AttrBoolean
	case '[':
		return AttrArray
	case '{':
		return AttrObject
	case 'n':
		return ""
	}
	return AttrNumber
}

// ProfileFacts is a full profile as Okta returned it: every attribute
// with a non-null value, raw JSON. Types optionally gives an attribute's
// declared type from the user schema ("integer" where the value alone says
// "number"); otherwise the value's JSON type is kept.
type ProfileFacts struct {
	Attrs map[string]json.RawMessage
	Types map[string]string
}

// setProfile merges a full profile read at at into e.X (the base
// attributes excepted: the caller writes those through touch). It reports
// whether anything changed.
func setProfile(e *entity, p ProfileFacts, at Stamp, skip map[string]int) (bool, error) {
	changed := false
	for name, raw := range p.Attrs {
		if _, base := skip[name]; base {
			continue
		}
		t := JSONType(raw)
		if t == "" {
			continue // null: treated as absent below
		}
		if len(raw) > maxAttrBytes {
			return false, fmt.Errorf("profile attribute %q is %d bytes (max %d)", name, len(raw), maxAttrBytes)
		}
		if st := p.Types[name]; st == AttrInteger && t == AttrNumber {
			t = st
		}
		var buf bytes.Buffer
		v := string(raw)
		if json.Compact(&buf, raw) == nil {
			v = buf.String()
		}
		i, found := slices.BinarySearchFunc(e.X, name, func(x attrReg, n string) int { return strings.Compare(x.Name, n) })
		if !found {
			if len(e.X) >= maxAttrs {
				return false, fmt.Errorf("more than %d profile attributes", maxAttrs)
			}
			e.X = slices.Insert(e.X, i, attrReg{Name: name, T: attrTypeCodes[t], V: v, S: at})
			changed = true
			continue
		}
		x := &e.X[i]
		if !at.After(x.S) || (x.V == v && x.T == attrTypeCodes[t]) {
			continue
		}
		x.T, x.V, x.S = attrTypeCodes[t], v, at
		changed = true
	}
	for i := range e.X {
		x := &e.X[i]
		if raw, ok := p.Attrs[x.Name]; ok && JSONType(raw) != "" {
			continue
		}
		if x.V != "" && at.After(x.S) {
			x.V, x.S = "", at
			changed = true
		}
	}
	return changed, nil
}

// SetUserProfile merges a full user profile read from Okta at at: the
// base attributes go to their fields (as TouchUser would), every other
// attribute to its own register; attributes the profile lacks are removed
// where their register is older than at. The user is created as a stub
// if unknown.
func (tx *writeTx) SetUserProfile(id string, p ProfileFacts, at Stamp) error {
	str := func(name string) string {
		var s string
		if raw, ok := p.Attrs[name]; ok && json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	}
	if err := tx.TouchUser(UserFacts{ID: id, Login: str("login"), Email: str("email"),
		DisplayName: str("displayName"), FirstName: str("firstName"), LastName: str("lastName")}, at); err != nil {
		return err
	}
	e, _, err := tx.load(kindUser, id)
	if err != nil {
		return fmt.Errorf("store: set user %q profile: %w", id, err)
	}
	changed, err := setProfile(e, p, at, baseAttrs)
	if err != nil {
		return fmt.Errorf("store: set user %q profile: %w", id, err)
	}
	if !changed {
		return nil
	}
	return tx.put(kindUser, id, e)
}

// SetGroupProfile merges a group's full profile (name and description
// included, as Okta's group profile has them) read at at.
func (tx *writeTx) SetGroupProfile(id string, p ProfileFacts, at Stamp) error {
	if err := checkID("group", id); err != nil {
		return err
	}
	e, ok, err := tx.load(kindGroup, id)
	if err != nil {
		return fmt.Errorf("store: set group %q profile: %w", id, err)
	}
	changed, err := setProfile(e, p, at, nil)
	if err != nil {
		return fmt.Errorf("store: set group %q profile: %w", id, err)
	}
	if !changed && ok {
		return nil
	}
	return tx.put(kindGroup, id, e)
}

// SetUserRole writes one admin role register of the user (a privilege
// grant or revoke event) when at is newer than the register.
func (tx *writeTx) SetUserRole(id string, role AdminRole, present bool, at Stamp) error {
	if err := checkID("user", id); err != nil {
		return err
	}
	if err := checkStamp(at); err != nil {
		return err
	}
	e, ok, err := tx.load(kindUser, id)
	if err != nil {
		return fmt.Errorf("store: set user %q role: %w", id, err)
	}
	if setRole(e, role, present, at) || !ok {
		return tx.put(kindUser, id, e)
	}
	return nil
}

// SetUserRoles makes the user's admin roles what a listing read at at
// says: each listed role present, each other stored role absent, where the
// register is older than at. Nothing is written when nothing changes.
func (tx *writeTx) SetUserRoles(id string, roles []AdminRole, at Stamp) error {
	if err := checkID("user", id); err != nil {
		return err
	}
	e, ok, err := tx.load(kindUser, id)
	if err != nil {
		return fmt.Errorf("store: set user %q roles: %w", id, err)
	}
	if !ok && len(roles) == 0 {
		return nil
	}
	changed := !ok
	listed := map[string]bool{}
	for _, r := range roles {
		listed[roleKey(r)] = true
		if setRole(e, r, true, at) {
			changed = true
		}
	}
	for _, r := range slices.Clone(e.R) {
		if !listed[r.Key] && r.On && setRole(e, AdminRole{Type: r.Type, Label: r.Label}, false, at) {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return tx.put(kindUser, id, e)
}

func setRole(e *entity, role AdminRole, present bool, at Stamp) bool {
	k := roleKey(role)
	typ := role.Type
	if typ == "" {
		typ = "CUSTOM"
	}
	i, found := slices.BinarySearchFunc(e.R, k, func(r roleReg, k string) int { return strings.Compare(r.Key, k) })
	if !found {
		e.R = slices.Insert(e.R, i, roleReg{Key: k, Type: typ, Label: role.Label, On: present, S: at})
		return true
	}
	r := &e.R[i]
	if !at.After(r.S) {
		return false
	}
	if r.On == present && r.Label == role.Label {
		r.S = at
		return true
	}
	r.On, r.S, r.Type = present, at, typ
	if role.Label != "" {
		r.Label = role.Label
	}
	return true
}

// profileOf renders the record's attributes (the base fields included
// when set) and their types.
func profileOf(e *entity, base map[string]int) (map[string]json.RawMessage, map[string]string) {
	p := make(map[string]json.RawMessage, len(e.X)+len(base))
	types := make(map[string]string, len(e.X)+len(base))
	for name, f := range base {
		if v := e.F[f].V; v != "" {
			b, _ := json.Marshal(v)
			p[name], types[name] = b, AttrString
		}
	}
	for _, x := range e.X {
		if x.V != "" {
			p[x.Name], types[x.Name] = json.RawMessage(x.V), attrTypeName(x.T)
		}
	}
	return p, types
}

func rolesOf(e *entity) []AdminRole {
	out := []AdminRole{}
	for _, r := range e.R {
		if r.On {
			out = append(out, AdminRole{Type: r.Type, Label: r.Label})
		}
	}
	return out
}

// attrMatches reports whether the record's attribute name equals value
// exactly: a string attribute compares its text, others their JSON text
// (true, 42, ["a","b"] as written compactly); an array of strings matches
// when one element equals value.
func attrMatches(e *entity, base map[string]int, name, value string) bool {
	if f, ok := base[name]; ok {
		return e.F[f].V == value
	}
	i, found := slices.BinarySearchFunc(e.X, name, func(x attrReg, n string) int { return strings.Compare(x.Name, n) })
	if !found || e.X[i].V == "" {
		return false
	}
	x := e.X[i]
	switch x.T {
	case 's':
		var s string
		return json.Unmarshal([]byte(x.V), &s) == nil && s == value
	case 'a':
		var ss []string
		if json.Unmarshal([]byte(x.V), &ss) == nil {
			return slices.Contains(ss, value)
		}
	}
	return x.V == value
}

// ListUsersWithAttr is ListUsers restricted to live users whose profile
// attribute name equals value exactly (see attrMatches; base attributes
// such as login compare case-sensitively too). No attribute is indexed:
// it reads user records in id order until it has a page (or the end), so
// a page costs a scan of the records up to its last match — every user
// record when few match. The slice is never nil.
func (s *Store) ListUsersWithAttr(name, value, after string, limit int) ([]User, string, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	out := []User{}
	var next string
	err := s.view(func(txn *badger.Txn) error {
		r := newReader(txn)
		p := []byte(pUser)
		start := p
		if after != "" {
			start = append(key(pUser, after), 0)
		}
		opts := badger.DefaultIteratorOptions
		opts.Prefix = p
		it := txn.NewIterator(opts)
		var ids []string
		for it.Seek(start); it.ValidForPrefix(p); it.Next() {
			item := it.Item()
			id := item.Key()[len(p):]
			if bytes.IndexByte(id, '/') >= 0 {
				continue
			}
			var e *entity
			if err := item.Value(func(v []byte) error {
				var err error
				e, err = decodeEntity(v, kindUser.nfields)
				return err
			}); err != nil {
				it.Close()
				return err
			}
			if !e.live() || !attrMatches(e, baseAttrs, name, value) {
				continue
			}
			if len(ids) == limit {
				next = ids[len(ids)-1]
				break
			}
			r.cache[pUser+string(id)] = e
			ids = append(ids, string(id))
		}
		it.Close()
		var err error
		if out, err = readAll(ids, r.user); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return []User{}, "", fmt.Errorf("store: list users with %s=%q: %w", name, value, err)
	}
	return out, next, nil
}
