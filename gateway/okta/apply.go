package okta

import (
	"fmt"

	"github.com/hookgate/hookgate/store"
)

// lifecycleStatus maps user lifecycle event types to the status they set
// (../shared/fixtures/okta/README.md is the authority: create yields STAGED).
var lifecycleStatus = map[string]string{
	"user.lifecycle.create":     "STAGED",
	"user.lifecycle.activate":   "ACTIVE",
	"user.lifecycle.deactivate": "DEPROVISIONED",
	"user.lifecycle.suspend":    "SUSPENDED",
	"user.lifecycle.unsuspend":  "ACTIVE",
}

// unknownAltID is what Okta puts in a UserGroup target's alternateId.
const unknownAltID = "unknown"

// Apply changes identity state in tx as ev says. Every write is a
// last-writer-wins register keyed by (published, uuid), so applying events
// in any order, or twice, converges. Each target the event type mentions is
// touched first (a user, group or app seen first as a target exists at once
// with the target's fields). Events that did not succeed and unknown event
// types change nothing. An event that fails Validate returns an error
// wrapping ErrInvalidEvent and writes nothing.
func Apply(tx *store.Tx, ev *LogEvent) error {
	if err := Validate(ev); err != nil {
		return err
	}
	if !StateChanging(ev.EventType) || !ev.Succeeded() {
		return nil
	}
	if err := apply(tx, ev, store.Stamp{Published: ev.Published, UUID: ev.UUID}); err != nil {
		return fmt.Errorf("okta: apply %s %s: %w", ev.EventType, ev.UUID, err)
	}
	return nil
}

func apply(tx *store.Tx, ev *LogEvent, at store.Stamp) error {
	switch ev.EventType {
	case "group.lifecycle.create":
		g := ev.TargetOf(TargetUserGroup)
		return tx.CreateGroup(groupFacts(g), at)
	case "group.lifecycle.delete":
		g := ev.TargetOf(TargetUserGroup)
		if err := tx.TouchGroup(groupFacts(g), at); err != nil {
			return err
		}
		return tx.DeleteGroup(g.ID, at)
	case "group.profile.update":
		return tx.TouchGroup(groupFacts(ev.TargetOf(TargetUserGroup)), at)
	case "group.user_membership.add", "group.user_membership.remove":
		u, g := ev.TargetOf(TargetUser), ev.TargetOf(TargetUserGroup)
		if err := tx.TouchUser(userFacts(u), at); err != nil {
			return err
		}
		if err := tx.TouchGroup(groupFacts(g), at); err != nil {
			return err
		}
		return tx.SetMembership(g.ID, u.ID, ev.EventType == "group.user_membership.add", at)
	case "group.application_assignment.add", "group.application_assignment.update",
		"group.application_assignment.remove":
		g, a := ev.TargetOf(TargetUserGroup), ev.TargetOf(TargetAppInstance)
		if err := tx.TouchGroup(groupFacts(g), at); err != nil {
			return err
		}
		if err := tx.TouchApp(appFacts(a), at); err != nil {
			return err
		}
		return tx.SetGroupApp(g.ID, a.ID, ev.EventType != "group.application_assignment.remove", at)
	case "user.lifecycle.create", "user.lifecycle.activate", "user.lifecycle.deactivate",
		"user.lifecycle.suspend", "user.lifecycle.unsuspend":
		u := ev.TargetOf(TargetUser)
		if err := tx.TouchUser(userFacts(u), at); err != nil {
			return err
		}
		return tx.SetUserStatus(u.ID, lifecycleStatus[ev.EventType], at)
	case "user.lifecycle.delete.initiated":
		u := ev.TargetOf(TargetUser)
		if err := tx.TouchUser(userFacts(u), at); err != nil {
			return err
		}
		return tx.DeleteUser(u.ID, at)
	case "user.account.update_profile":
		// Okta names the changed attributes but sends no values; the new
		// login and display name are what the target says.
		return tx.TouchUser(userFacts(ev.TargetOf(TargetUser)), at)
	case "application.user_membership.add", "application.user_membership.remove":
		a := ev.TargetOf(TargetAppInstance)
		if err := tx.TouchApp(appFacts(a), at); err != nil {
			return err
		}
		var userID string
		if u := ev.TargetOf(TargetUser); u != nil {
			if err := tx.TouchUser(userFacts(u), at); err != nil {
				return err
			}
			userID = u.ID
		} else {
			// Fallback: the AppUser target's alternateId is the user's
			// login; its id (0ua…) is the assignment, not the user.
			id, ok, err := tx.UserIDByLogin(ev.TargetOf(TargetAppUser).AlternateID)
			if err != nil || !ok {
				return err // an unknown login: nothing to attach the edge to
			}
			userID = id
		}
		return tx.SetAppUser(a.ID, userID, ev.EventType == "application.user_membership.add", at)
	}
	return nil
}

// userFacts reads a User target: alternateId is the login.
func userFacts(t *Target) store.UserFacts {
	return store.UserFacts{ID: t.ID, Login: knownAltID(t.AlternateID), DisplayName: t.DisplayName}
}

// groupFacts reads a UserGroup target: the name is in displayName
// (alternateId is literally "unknown").
func groupFacts(t *Target) store.GroupFacts {
	return store.GroupFacts{ID: t.ID, Name: t.DisplayName}
}

// appFacts reads an AppInstance target: alternateId is the app name,
// displayName its label.
func appFacts(t *Target) store.AppFacts {
	return store.AppFacts{ID: t.ID, Name: knownAltID(t.AlternateID), Label: t.DisplayName}
}

func knownAltID(s string) string {
	if s == unknownAltID {
		return ""
	}
	return s
}
