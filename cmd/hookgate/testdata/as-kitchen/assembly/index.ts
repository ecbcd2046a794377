// A test plugin for the AssemblyScript SDK: request_comment picks what its
// pre_approval handler does ("throw" makes AssemblyScript call abort, which
// the SDK's handler logs before trapping; the others read the identity
// state and answer what they read).
import {
  Request, Decision, approve, deny, handlePreApproval, userGroups, lookupGroup, groupMembers,
  lookupUser, lastErrorMessage,
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
    return approve(g.id + " " + g.name + " " + g.members.length.toString() + " members");
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
  return approve("fine");
});
