// Package policy holds per-plugin policies the plugin host enforces on
// host calls, as plain option structs gateway.toml's [[plugin]] tables
// decode into (the toml keys are on the fields): the key/value quota and
// the scope of the okta capability. The quota's defaults are the
// store's (store.DefaultKVQuota, which enforces the quota).
package policy

import (
	"fmt"
	"strings"

	"github.com/hookgate/hookgate/store"
)

// KVQuota caps one plugin's key/value namespace (capability "kv"). A zero
// field means "the default" (see Or).
type KVQuota struct {
	// KVMaxKeys is the most keys the plugin may hold. Default 100000.
	KVMaxKeys int64 `toml:"kv_max_keys"`
	// KVMaxBytes caps the sum of len(key)+len(value) over the plugin's
	// keys. Default 64 MiB.
	KVMaxBytes int64 `toml:"kv_max_bytes"`
}

// DefaultKVQuota is the quota of a plugin that sets none:
// store.DefaultKVQuota (100000 keys and 64 MiB).
func DefaultKVQuota() KVQuota {
	d := store.DefaultKVQuota()
	return KVQuota{KVMaxKeys: d.MaxKeys, KVMaxBytes: d.MaxBytes}
}

// Or returns q with its zero fields taken from def.
func (q KVQuota) Or(def KVQuota) KVQuota {
	if q.KVMaxKeys == 0 {
		q.KVMaxKeys = def.KVMaxKeys
	}
	if q.KVMaxBytes == 0 {
		q.KVMaxBytes = def.KVMaxBytes
	}
	return q
}

// Validate refuses negative or absurd quotas, naming the key.
func (q KVQuota) Validate() error {
	switch {
	case q.KVMaxKeys < 0 || q.KVMaxKeys > 1<<32:
		return fmt.Errorf("kv_max_keys: must be 1..%d, got %d", int64(1)<<32, q.KVMaxKeys)
	case q.KVMaxBytes < 0 || q.KVMaxBytes > 1<<40:
		return fmt.Errorf("kv_max_bytes: must be 1..%d, got %d", int64(1)<<40, q.KVMaxBytes)
	}
	return nil
}

// All is the list entry that allows every group or every app.
const All = "*"

// OktaScope lists the Okta groups and apps a plugin's okta_action calls
// (capability "okta") may touch, each by Okta id or by name (a group's
// name; an app's name or label), names compared without regard to case.
// An empty list allows none: an action on a group needs the group in
// OktaGroups, one on an app needs the app in OktaApps (assign_app_to_group
// needs both). ["*"] allows all, explicitly.
type OktaScope struct {
	OktaGroups []string `toml:"okta_groups"`
	OktaApps   []string `toml:"okta_apps"`
}

// Validate refuses empty entries.
func (s OktaScope) Validate() error {
	for key, list := range map[string][]string{"okta_groups": s.OktaGroups, "okta_apps": s.OktaApps} {
		for _, e := range list {
			if strings.TrimSpace(e) == "" {
				return fmt.Errorf("%s: empty entry (list Okta ids or names, or [\"*\"] for all)", key)
			}
		}
	}
	return nil
}

// Empty reports whether the scope allows nothing at all.
func (s OktaScope) Empty() bool { return len(s.OktaGroups) == 0 && len(s.OktaApps) == 0 }

// AllowsGroup reports whether a group, known by its id and name, is in
// OktaGroups.
func (s OktaScope) AllowsGroup(id, name string) bool { return match(s.OktaGroups, id, name) }

// AllowsApp reports whether an app, known by its id, name and label, is
// in OktaApps.
func (s OktaScope) AllowsApp(id, name, label string) bool { return match(s.OktaApps, id, name, label) }

func match(list []string, id string, names ...string) bool {
	for _, e := range list {
		if e == All || (id != "" && e == id) {
			return true
		}
		for _, n := range names {
			if n != "" && strings.EqualFold(e, n) {
				return true
			}
		}
	}
	return false
}
