// as-oncall-preapproval: examples/oncall-preapproval in AssemblyScript, with
// the same decisions. It pre-approves a pre_approval request only when the
// target user is an active member of the Okta group named by the config key
// "group" (the gateway's live identity state); everyone else goes through
// the normal approval flow.
//
// Build: make (from the repository root) or
//   asc assembly/index.ts -o as-oncall-preapproval.wasm -O3 --use abort=../../sdk/assemblyscript/assembly/abort/abort
// Needs capabilities: config, identity (log optional).
import {
  Request, Decision, approve, deny, config, isMember, lookupUser, lastError, lastErrorMessage,
  log, handlePreApproval, ERR_NOT_FOUND,
} from "../../../sdk/assemblyscript/assembly/index";
export * from "../../../sdk/assemblyscript/assembly/exports";

function preApprove(req: Request): Decision {
  const group = config("group");
  if (group.length == 0) {
    log.error("config key group is not set; nobody is pre-approved");
    return deny("pre-approval is not configured; the request follows the normal approval flow");
  }
  const email = req.targetUser.email;
  // Unknown users are simply not members.
  const member = isMember(email, group);
  if (lastError() != null) {
    log.error("is_member(" + email + ", " + group + ") failed: " + lastErrorMessage());
    return deny("could not check the on-call roster; normal approval applies");
  }
  if (!member) return deny(email + " is not in " + group + "; normal approval applies");
  // A member: only an active one is pre-approved.
  const user = lookupUser(email);
  if (user == null) {
    const e = lastError();
    if (e != null && e.code == ERR_NOT_FOUND) return deny(email + " is not known to the identity provider; normal approval applies");
    log.error("user lookup for " + email + " failed: " + lastErrorMessage());
    return deny("could not check the on-call roster; normal approval applies");
  }
  const status = user.status;
  if (status != null && status != "ACTIVE") return deny(email + " is " + status + "; normal approval applies");
  log.info("pre-approved " + email + ": member of " + group);
  return approve(email + " is on call (" + group + ")");
}

handlePreApproval(preApprove);
