package okta

import (
	"encoding/json"
	"strings"

	"github.com/hookgate/hookgate/store"
)

// userStatus maps the event types that change a user's status to the
// status they set, per Okta's user status model (the status diagram of the
// Users API, https://developer.okta.com/docs/api/rest/users.html "User
// status", and the lifecycle operations that log these events,
// https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserLifecycle
// and .../tag/UserCred). ../shared/fixtures/okta/README.md is the authority
// for the first five (create yields STAGED). Each is a last-published-wins
// write of the status register, like the others. Where Okta's docs leave
// the effect open, README.md ("Okta event types and their effect") says so.
var userStatus = map[string]string{
	"user.lifecycle.create":     "STAGED",
	"user.lifecycle.activate":   "ACTIVE",
	"user.lifecycle.deactivate": "DEPROVISIONED",
	"user.lifecycle.suspend":    "SUSPENDED",
	"user.lifecycle.unsuspend":  "ACTIVE",
	// Reactivate "restarts the activation workflow" and may only be run on
	// PROVISIONED or RECOVERY users; the user is PROVISIONED (pending
	// activation) until they complete it (UserLifecycle: reactivateUser).
	"user.lifecycle.reactivate": "PROVISIONED",
	// A lockout by failed sign-ins (Okta logs outcome FAILURE, reason
	// LOCKED_OUT, the locked user as actor and no target; see TookEffect).
	"user.account.lock": "LOCKED_OUT",
	// Unlock "returns the user to ACTIVE status" (UserLifecycle:
	// unlockUser); Okta logs the automatic unlock after the lockout period
	// as user.account.unlock and an admin's as unlock_by_admin (Workflows
	// event cards "User Account Unlocked" / "... Unlocked by Admin").
	"user.account.unlock":          "ACTIVE",
	"user.account.unlock_by_admin": "ACTIVE",
	// Expire password "transitions the user to the status of
	// PASSWORD_EXPIRED" (UserCred: expirePassword); the mass expiry of a
	// password policy does the same to each user it lists.
	"user.account.expire_password":        "PASSWORD_EXPIRED",
	"user.lifecycle.password_mass_expiry": "PASSWORD_EXPIRED",
	// Reset password "transitions the user to the status of RECOVERY" until
	// they complete the reset (UserLifecycle: resetPassword).
	"user.account.reset_password": "RECOVERY",
}

// unknownAltID is what Okta puts in a UserGroup target's alternateId.
const unknownAltID = "unknown"

// Changes returns what ev does to identity state, as plain values (the
// store applies them with the event in OpIngest). Every write is a
// last-writer-wins register keyed by (published, uuid), so applying events
// in any order, or twice, converges. Each target the event type mentions is
// touched first (a user, group or app seen first as a target exists at once
// with the target's fields). Events that did not succeed and unknown event
// types change nothing. An event that fails Validate returns an error
// wrapping ErrInvalidEvent.
func Changes(ev *LogEvent) ([]store.IdentityChange, error) {
	if err := Validate(ev); err != nil {
		return nil, err
	}
	if !StateChanging(ev.EventType) || !ev.TookEffect() {
		return nil, nil
	}
	return changes(ev, store.Stamp{Published: ev.Published, UUID: ev.UUID}), nil
}

func changes(ev *LogEvent, at store.Stamp) []store.IdentityChange {
	switch ev.EventType {
	case "group.lifecycle.create":
		g := ev.TargetOf(TargetUserGroup)
		return []store.IdentityChange{store.CreateGroup(groupFacts(g), at)}
	case "group.lifecycle.delete":
		g := ev.TargetOf(TargetUserGroup)
		return []store.IdentityChange{store.TouchGroup(groupFacts(g), at), store.DeleteGroup(g.ID, at, false)}
	case "group.profile.update":
		return []store.IdentityChange{store.TouchGroup(groupFacts(ev.TargetOf(TargetUserGroup)), at)}
	case "group.user_membership.add", "group.user_membership.remove":
		u, g := ev.TargetOf(TargetUser), ev.TargetOf(TargetUserGroup)
		return []store.IdentityChange{
			store.TouchUser(userFacts(u), at),
			store.TouchGroup(groupFacts(g), at),
			store.SetMembership(g.ID, u.ID, ev.EventType == "group.user_membership.add", at),
		}
	case "group.application_assignment.add", "group.application_assignment.update",
		"group.application_assignment.remove":
		g, a := ev.TargetOf(TargetUserGroup), ev.TargetOf(TargetAppInstance)
		return []store.IdentityChange{
			store.TouchGroup(groupFacts(g), at),
			store.TouchApp(appFacts(a), at),
			store.SetGroupApp(g.ID, a.ID, ev.EventType != "group.application_assignment.remove", at),
		}
	case "user.lifecycle.password_mass_expiry":
		// Applied to every User target (none: nothing changes).
		var out []store.IdentityChange
		for i := range ev.Target {
			if u := &ev.Target[i]; strings.EqualFold(u.Type, TargetUser) {
				out = append(out, setStatus(u, userStatus[ev.EventType], at)...)
			}
		}
		return out
	case "user.account.lock":
		u := ev.TargetOf(TargetUser)
		if u == nil {
			u = &ev.Actor // a lockout by failed sign-ins: the user is the actor
		}
		return setStatus(u, userStatus[ev.EventType], at)
	case "user.lifecycle.delete.initiated", "user.lifecycle.delete.completed":
		// Deletion is asynchronous in Okta: .initiated, then .completed when
		// the user is gone. Either removes the user (the same tombstone, so
		// applying both, in any order, converges).
		u := ev.TargetOf(TargetUser)
		return []store.IdentityChange{store.TouchUser(userFacts(u), at), store.DeleteUser(u.ID, at, false)}
	case "user.account.update_profile":
		// Okta names the changed attributes but sends no values; the new
		// login and display name are what the target says.
		return []store.IdentityChange{store.TouchUser(userFacts(ev.TargetOf(TargetUser)), at)}
	case "user.account.privilege.grant", "user.account.privilege.revoke":
		u := ev.TargetOf(TargetUser)
		out := []store.IdentityChange{store.TouchUser(userFacts(u), at)}
		grant := ev.EventType == "user.account.privilege.grant"
		for _, r := range EventRoles(ev) {
			out = append(out, store.SetUserRole(u.ID, r, grant, at))
		}
		return out
	case "application.user_membership.add", "application.user_membership.remove",
		"application.user_membership.update", "application.user_membership.change_username":
		a := ev.TargetOf(TargetAppInstance)
		// update and change_username speak of an assignment that exists at
		// published: they write the edge as present, with the AppUser's
		// facts (its alternateId, the user's name in the app).
		present := ev.EventType != "application.user_membership.remove"
		out := []store.IdentityChange{store.TouchApp(appFacts(a), at)}
		if u := ev.TargetOf(TargetUser); u != nil {
			return append(out, store.TouchUser(userFacts(u), at), store.SetAppUserFacts(a.ID, u.ID, present, appUserFacts(ev), at))
		}
		// Fallback: the AppUser target's alternateId is the user's login;
		// its id (0ua…) is the assignment, not the user. "unknown" (Admin
		// Console events) is no login. The store resolves the login when
		// it applies the change (an unknown login: nothing to attach the
		// edge to).
		login := knownAltID(ev.TargetOf(TargetAppUser).AlternateID)
		return append(out, store.SetAppUserByLogin(a.ID, login, present, appUserFacts(ev), at))
	default:
		if st, ok := userStatus[ev.EventType]; ok {
			return setStatus(ev.TargetOf(TargetUser), st, at)
		}
	}
	return nil
}

// setStatus touches the user target and writes its status register.
func setStatus(u *Target, status string, at store.Stamp) []store.IdentityChange {
	return []store.IdentityChange{store.TouchUser(userFacts(u), at), store.SetUserStatus(u.ID, status, at)}
}

// appUserFacts reads the AppUser target of an application.user_membership
// event: alternateId is the user's name in the app (the app username;
// "unknown" in Admin Console events, read as missing).
func appUserFacts(ev *LogEvent) store.AppUserFacts {
	au := ev.TargetOf(TargetAppUser)
	if au == nil {
		return store.AppUserFacts{}
	}
	return store.AppUserFacts{UserName: knownAltID(au.AlternateID)}
}

// TargetRole is the target type of an admin role in privilege events.
const TargetRole = "ROLE"

// standardRoles maps the labels Okta shows for its standard admin roles to
// their types (lower-cased).
var standardRoles = map[string]string{
	"super administrator":                 "SUPER_ADMIN",
	"super admin":                         "SUPER_ADMIN",
	"organization administrator":          "ORG_ADMIN",
	"organizational administrator":        "ORG_ADMIN",
	"org administrator":                   "ORG_ADMIN",
	"application administrator":           "APP_ADMIN",
	"app administrator":                   "APP_ADMIN",
	"group administrator":                 "USER_ADMIN",
	"help desk administrator":             "HELP_DESK_ADMIN",
	"read-only administrator":             "READ_ONLY_ADMIN",
	"read only administrator":             "READ_ONLY_ADMIN",
	"mobile administrator":                "MOBILE_ADMIN",
	"api access management administrator": "API_ACCESS_MANAGEMENT_ADMIN",
	"report administrator":                "REPORT_ADMIN",
	"group membership administrator":      "GROUP_MEMBERSHIP_ADMIN",
}

// isRoleType reports whether s reads like one of Okta's role type
// constants (SUPER_ADMIN, ORG_ADMIN, ...).
func isRoleType(s string) bool {
	if !strings.HasSuffix(s, "_ADMIN") {
		return false
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && c != '_' {
			return false
		}
	}
	return true
}

// RoleOf names the role a label (and optionally a type-like id) stands
// for: a standard type when Okta's label or the id says so, else CUSTOM
// with the label.
func RoleOf(label, idOrType string) store.AdminRole {
	if isRoleType(idOrType) {
		return store.AdminRole{Type: idOrType, Label: label}
	}
	if t, ok := standardRoles[strings.ToLower(strings.TrimSpace(label))]; ok {
		return store.AdminRole{Type: t, Label: label}
	}
	return store.AdminRole{Type: "CUSTOM", Label: label}
}

// EventRoles reads the roles a privilege grant or revoke event is about:
// its ROLE targets (displayName is the role's label; the alternateId or
// id may be the role type), or, when it has none, the labels in
// debugContext.debugData.privilegeGranted / privilegeRevoked
// (comma-separated).
func EventRoles(ev *LogEvent) []store.AdminRole {
	var out []store.AdminRole
	for _, t := range ev.Target {
		if !strings.EqualFold(t.Type, TargetRole) {
			continue
		}
		id := t.AlternateID
		if !isRoleType(id) {
			id = t.ID
		}
		label := knownAltID(t.DisplayName)
		if label == "" && !isRoleType(id) {
			continue
		}
		out = append(out, RoleOf(label, id))
	}
	if len(out) > 0 || len(ev.Raw) == 0 {
		return out
	}
	var dbg struct {
		DebugContext struct {
			DebugData struct {
				Granted string `json:"privilegeGranted"`
				Revoked string `json:"privilegeRevoked"`
			} `json:"debugData"`
		} `json:"debugContext"`
	}
	if json.Unmarshal(ev.Raw, &dbg) != nil {
		return nil
	}
	labels := dbg.DebugContext.DebugData.Granted
	if ev.EventType == "user.account.privilege.revoke" || labels == "" {
		if r := dbg.DebugContext.DebugData.Revoked; r != "" {
			labels = r
		}
	}
	for _, l := range strings.Split(labels, ",") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, RoleOf(l, ""))
		}
	}
	return out
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

// appFacts reads an AppInstance target. Real events carry the instance's
// label in alternateId and the app type's display name in displayName (an
// OIDC app: alternateId "TestWEbApp01", displayName "OpenID Connect
// Client", where the Apps API says name "oidc_client", label
// "TestWEbApp01"; the Admin Console: alternateId "Okta Admin Console",
// API name "saasure"). So an event gives the label only; the API name
// comes from the sync, and an event never writes it. displayName names
// the catalog app, not the instance, and is not kept.
func appFacts(t *Target) store.AppFacts {
	return store.AppFacts{ID: t.ID, Label: knownAltID(t.AlternateID)}
}

func knownAltID(s string) string {
	if s == unknownAltID {
		return ""
	}
	return s
}
