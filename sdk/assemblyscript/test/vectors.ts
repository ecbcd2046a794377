// Test entry for the SDK's decoders (run by `npm test`): the golden flat
// vectors and JSON documents go in through alloc, the decoded value comes
// back as a canonical JSON dump.
import { ByteBuf, decodeFlatRequest, decodeJSONRequest, decodeFlatUser, decodeJSONUser, writeDecision, Decision, User, lookupUser, lastErrorMessage } from "../assembly/index";
export { hookgate_alloc as alloc } from "../assembly/exports";

const dump = new ByteBuf(1024);

@inline function packed(b: ByteBuf): u64 { return (<u64>b.ptr << 32) | <u64><u32>b.len; }

function strs(b: ByteBuf, a: string[]): void {
  b.byte(0x5b);
  for (let i = 0; i < a.length; i++) { if (i > 0) b.byte(0x2c); b.jsonStr(a[i]); }
  b.byte(0x5d);
}

function dumpRequest(err: string | null): u64 {
  const b = dump.reset();
  if (err != null) return packed(b.lit("{\"error\":").jsonStr(err).byte(0x7d));
  // theRequest is internal: read it back through a handler-free path.
  const r = lastRequest();
  b.lit("{\"app_id\":").jsonStr(r.application.appId)
    .lit(",\"instance_id\":").jsonStr(r.application.instanceId)
    .lit(",\"user_friendly_label\":").jsonStr(r.application.userFriendlyLabel)
    .lit(",\"email\":").jsonStr(r.targetUser.email)
    .lit(",\"given_name\":").jsonStr(r.targetUser.givenName)
    .lit(",\"family_name\":").jsonStr(r.targetUser.familyName)
    .lit(",\"request_comment\":").jsonStr(r.requestComment)
    .lit(",\"request_task_url\":").jsonStr(r.requestTaskUrl)
    .lit(",\"access_length\":");
  if (r.hasAccessLength) b.int(r.accessLength); else b.lit("null");
  b.lit(",\"permissions\":[");
  for (let i = 0; i < r.permissions.length; i++) {
    const p = r.permissions[i];
    if (i > 0) b.byte(0x2c);
    b.lit("{\"label\":").jsonStr(p.label).lit(",\"value\":").jsonStr(p.value)
      .lit(",\"type\":").jsonStr(p.type).lit(",\"source\":").jsonStr(p.source).byte(0x7d);
  }
  b.lit("],\"custom_fields\":").jsonStr(r.customFieldsJson);
  const t = r.customField("ticket");
  if (t != null) b.lit(",\"ticket\":").jsonStr(t);
  return packed(b.byte(0x7d));
}

import { currentRequest as lastRequest } from "../assembly/index";

export function flatRequest(p: usize, n: i32): u64 { return dumpRequest(decodeFlatRequest(p, n)); }
export function jsonRequest(p: usize, n: i32): u64 { return dumpRequest(decodeJSONRequest(p, n)); }


function dumpUser(b: ByteBuf, u: User): void {
  b.lit("{\"id\":").jsonStr(u.id).lit(",\"login\":").jsonStr(u.login).lit(",\"email\":").jsonStr(u.email)
    .lit(",\"displayName\":").jsonStr(u.displayName).lit(",\"firstName\":").jsonStr(u.firstName)
    .lit(",\"lastName\":").jsonStr(u.lastName).lit(",\"status\":");
  const st = u.status;
  if (st != null) b.jsonStr(st); else b.lit("null");
  b.lit(",\"groups\":"); strs(b, u.groups);
  b.lit(",\"apps\":"); strs(b, u.apps);
  b.lit(",\"type\":").jsonStr(u.type).lit(",\"created\":").jsonStr(u.created).lit(",\"activated\":").jsonStr(u.activated)
    .lit(",\"statusChanged\":").jsonStr(u.statusChanged).lit(",\"lastUpdated\":").jsonStr(u.lastUpdated);
  // The profile three ways: the values (as JSON), their types, and the
  // JSON text exactly as the SDK holds it.
  const names = u.profile.names();
  b.lit(",\"profile\":{");
  for (let i = 0; i < names.length; i++) { if (i > 0) b.byte(0x2c); b.jsonStr(names[i]).byte(0x3a).lit(u.profile.json(names[i])); }
  b.lit("},\"profileTypes\":{");
  for (let i = 0; i < names.length; i++) { if (i > 0) b.byte(0x2c); b.jsonStr(names[i]).byte(0x3a).jsonStr(u.profile.lookup(names[i])!.type); }
  b.lit("},\"profileText\":{");
  for (let i = 0; i < names.length; i++) { if (i > 0) b.byte(0x2c); b.jsonStr(names[i]).byte(0x3a).jsonStr(u.profile.json(names[i])); }
  b.lit("},\"adminRoles\":[");
  for (let i = 0; i < u.adminRoles.length; i++) {
    if (i > 0) b.byte(0x2c);
    b.lit("{\"type\":").jsonStr(u.adminRoles[i].type).lit(",\"label\":").jsonStr(u.adminRoles[i].label).byte(0x7d);
  }
  b.lit("],\"isSuperAdmin\":").lit(u.isSuperAdmin() ? "true" : "false");
  b.byte(0x7d);
}

function userOut(flat: bool, p: usize, n: i32): u64 {
  const errs: string[] = [];
  const u = flat ? decodeFlatUser(p, n, errs) : decodeJSONUser(p, n, errs);
  const b = dump.reset();
  if (u == null) return packed(b.lit("{\"error\":").jsonStr(errs.length > 0 ? errs[0] : "?").byte(0x7d));
  dumpUser(b, u);
  return packed(b);
}

/** The typed profile accessors on a flat user record (the input holds the
 * record's n bytes, then the attribute name's nn, then the role's rn):
 * string, number, bool and strings of the attribute, and hasAdminRole. */
export function accessors(p: usize, n: i32, nn: i32, rn: i32): u64 {
  const np = p + <usize>n, rp = np + <usize>nn;
  const errs: string[] = [];
  const u = decodeFlatUser(p, n, errs);
  const b = dump.reset();
  if (u == null) return packed(b.lit("error ").str(errs[0]));
  const name = String.UTF8.decodeUnsafe(np, <usize>nn);
  const pr = u.profile;
  b.lit("string=").str(pr.string(name)).lit(" number=").str(pr.number(name).toString())
    .lit(" isNumber=").str(pr.isNumber(name) ? "true" : "false").lit(" bool=").str(pr.bool(name) ? "true" : "false")
    .lit(" strings=").str(pr.strings(name).join("|")).lit(" has=").str(pr.has(name) ? "true" : "false")
    .lit(" role=").str(u.hasAdminRole(String.UTF8.decodeUnsafe(rp, <usize>rn)) ? "true" : "false");
  return packed(b);
}

/** lookupUser through the host's user_get (the test's stand-in hosts). */
export function lookup(p: usize, n: i32): u64 {
  const u = lookupUser(String.UTF8.decodeUnsafe(p, <usize>n));
  const b = dump.reset();
  if (u == null) return packed(b.lit("{\"error\":").jsonStr(lastErrorMessage()).byte(0x7d));
  dumpUser(b, u);
  return packed(b);
}

export function flatUser(p: usize, n: i32): u64 { return userOut(true, p, n); }
export function jsonUser(p: usize, n: i32): u64 { return userOut(false, p, n); }

/** The compact decision form of (success, message). */
export function decision(ok: bool, p: usize, n: i32): u64 {
  return packed(writeDecision(dump, new Decision(ok, String.UTF8.decodeUnsafe(p, <usize>n))));
}
