package store

import (
	"fmt"
	"strings"
)

// Key prefixes of identity state (see the package comment for the layout).
const (
	pUser      = "u/"
	pGroup     = "g/"
	pApp       = "a/"
	pLogin     = "ul/"
	pEmail     = "ue/"
	pGroupName = "gn/"
	pGM        = "gm/" // group -> user
	pUG        = "ug/" // user -> group
	pGA        = "ga/" // group -> app
	pAG        = "ag/" // app -> group
	pAU        = "au/" // app -> user
	pUA        = "ua/" // user -> app
)

// edgePresent is the UserMeta bit of a present edge.
const edgePresent byte = 1

// maxIDLen bounds ids accepted as keys.
const maxIDLen = 256

// checkID rejects ids that would make keys ambiguous: ids are path segments
// of edge keys, so they may not be empty or contain '/' or NUL.
func checkID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("store: empty %s id", kind)
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("store: %s id longer than %d bytes", kind, maxIDLen)
	}
	if strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("store: %s id %q contains '/' or NUL", kind, id)
	}
	return nil
}

// ValidID reports whether id can be stored as a user, group or app id
// (non-empty, at most 256 bytes, no '/' or NUL). Parsers use it to reject
// events whose targets would be refused by the store.
func ValidID(id string) bool { return checkID("", id) == nil }

func key(prefix, id string) []byte {
	b := make([]byte, 0, len(prefix)+len(id))
	b = append(b, prefix...)
	return append(b, id...)
}

func edgeKey(prefix, from, to string) []byte {
	b := make([]byte, 0, len(prefix)+len(from)+1+len(to))
	b = append(b, prefix...)
	b = append(b, from...)
	b = append(b, '/')
	return append(b, to...)
}

// edgePrefix is the prefix of every edge leaving from.
func edgePrefix(prefix, from string) []byte {
	b := make([]byte, 0, len(prefix)+len(from)+1)
	b = append(b, prefix...)
	b = append(b, from...)
	return append(b, '/')
}

// indexPrefix is the prefix of the multi-valued index entries for value:
// <prefix><lower(value)>\x00<id>. Several entities may share a value over
// time (a deleted or renamed user's login reused, an event that would have
// moved it missed), so each entry carries the stamp of its claim (or of its
// release) and lookups take the newest (reader.byIndex).
func indexPrefix(prefix, value string) []byte {
	v := strings.ToLower(value)
	b := make([]byte, 0, len(prefix)+len(v)+1)
	b = append(b, prefix...)
	b = append(b, v...)
	return append(b, 0)
}

func indexKey(prefix, value, id string) []byte {
	return append(indexPrefix(prefix, value), id...)
}
