// A test plugin for the AssemblyScript SDK: request_comment picks what its
// pre_approval handler does ("throw" makes AssemblyScript call abort, which
// the SDK's handler logs before trapping; the others read the identity
// state and answer what they read).
//
// Its okta_event handler answers whether the event's User target is a
// member of its UserGroup target in the identity state the plugin reads
// (the gateway applies an event before its [[on_event]] plugins run).
//
// Its provisioning handler performs one Okta action through the SDK's
// okta.* wrappers: request_comment is "<action>:<a>:<b>" with the wrapper's
// two arguments in its own order (addUserToGroup:user:group,
// assignAppToGroup:app:group, assignUserToApp:user:app ...). Success answers
// "ok <action> user=<id> group=<id> app=<id>: <message>"; a failure answers
// "err <code> <lastError message>".
import {
  Request, Decision, approve, deny, success, failure, handlePreApproval, handleProvisioning, handleOktaEvent, OktaEvent,
  isMember,
  userGroups, lookupGroup, groupMembers, lookupUser, lastError, lastErrorMessage, okta, OktaResult,
} from "../../../../../sdk/assemblyscript/assembly/index";
export * from "../../../../../sdk/assemblyscript/assembly/exports";

handlePreApproval((req: Request): Decision => {
  const c = req.requestComment;
  const email = req.targetUser.email;
  if (c == "throw") throw new Error("boom for " + email);
  if (c == "groups") {
    const gs = userGroups(email);
    if (gs == null) return deny(lastErrorMessage());
    const names: string[] = [];
    for (let i = 0; i < gs.length; i++) names.push(gs[i].name);
    names.sort();
    return approve(names.join(","));
  }
  if (c == "group") {
    const g = lookupGroup("oncall-engineers");
    if (g == null) return deny(lastErrorMessage());
    return approve(g.id + " " + g.name + " " + g.members.length.toString() + " members, type=" + g.type +
      " description=" + g.profile.string("description") + " profile=" + g.profile.names().join(","));
  }
  if (c == "members") {
    const us = groupMembers("oncall-engineers");
    if (us == null) return deny(lastErrorMessage());
    const logins: string[] = [];
    for (let i = 0; i < us.length; i++) logins.push(us[i].login);
    logins.sort();
    return approve(logins.join(","));
  }
  if (c == "user") {
    const u = lookupUser(email);
    if (u == null) return deny(lastErrorMessage());
    const st = u.status;
    return approve(u.id + " " + u.displayName + " " + (st != null ? st : "null") + " " + u.groups.length.toString() + " groups");
  }
  if (c == "profile") {
    // The full profile (flat user record version 2): type, timestamps,
    // typed attributes and admin roles.
    const u = lookupUser(email);
    if (u == null) return deny(lastErrorMessage());
    const p = u.profile;
    const names = p.names();
    const attrs: string[] = [];
    for (let i = 0; i < names.length; i++) attrs.push(names[i] + ":" + p.lookup(names[i])!.type + "=" + p.json(names[i]));
    const roles: string[] = [];
    for (let i = 0; i < u.adminRoles.length; i++) roles.push(u.adminRoles[i].type + "/" + u.adminRoles[i].label);
    return approve("type=" + u.type + " activated=" + u.activated + " department=" + p.string("department") +
      " clearance=" + p.number("clearance").toString() + " contractor=" + (p.bool("isContractor") ? "yes" : "no") +
      " super=" + (u.isSuperAdmin() ? "yes" : "no") + " roles=" + roles.join(",") + " attrs=" + attrs.join(" "));
  }
  return approve("fine");
});

handleProvisioning((req: Request): Decision => {
  const parts = req.requestComment.split(":");
  if (parts.length != 3) return failure("want <action>:<a>:<b>, got " + req.requestComment);
  const act = parts[0], a = parts[1], b = parts[2];
  let res: OktaResult | null = null;
  if (act == "addUserToGroup") res = okta.addUserToGroup(a, b);
  else if (act == "removeUserFromGroup") res = okta.removeUserFromGroup(a, b);
  else if (act == "assignAppToGroup") res = okta.assignAppToGroup(a, b);
  else if (act == "unassignAppFromGroup") res = okta.unassignAppFromGroup(a, b);
  else if (act == "assignUserToApp") res = okta.assignUserToApp(a, b);
  else if (act == "unassignUserFromApp") res = okta.unassignUserFromApp(a, b);
  else return failure("unknown action " + act);
  if (res == null) {
    const e = lastError();
    return failure("err " + (e != null ? e.code.toString() : "none") + " " + lastErrorMessage());
  }
  return success("ok " + res.action + " user=" + res.userId + " group=" + res.groupId + " app=" + res.appId + ": " + res.message);
});

handleOktaEvent((ev: OktaEvent): Decision => {
  const users = ev.targets("User"), groups = ev.targets("UserGroup");
  if (users.length == 0 || groups.length == 0) return success("no user and group in " + ev.eventType);
  const m = isMember(users[0].alternateId, groups[0].displayName);
  if (lastError() != null) return failure(lastErrorMessage());
  return success(ev.eventType + " " + users[0].alternateId + " member of " + groups[0].displayName + ": " + (m ? "yes" : "no"));
});
