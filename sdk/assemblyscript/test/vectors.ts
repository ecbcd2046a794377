// Test entry for the SDK's decoders (run by `npm test`): the golden flat
// vectors and JSON documents go in through alloc, the decoded value comes
// back as a canonical JSON dump.
import { ByteBuf, decodeFlatRequest, decodeJSONRequest, decodeFlatUser, decodeJSONUser, writeDecision, Decision } from "../assembly/index";
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


function userOut(flat: bool, p: usize, n: i32): u64 {
  const errs: string[] = [];
  const u = flat ? decodeFlatUser(p, n, errs) : decodeJSONUser(p, n, errs);
  const b = dump.reset();
  if (u == null) return packed(b.lit("{\"error\":").jsonStr(errs.length > 0 ? errs[0] : "?").byte(0x7d));
  b.lit("{\"id\":").jsonStr(u.id).lit(",\"login\":").jsonStr(u.login).lit(",\"email\":").jsonStr(u.email)
    .lit(",\"displayName\":").jsonStr(u.displayName).lit(",\"firstName\":").jsonStr(u.firstName)
    .lit(",\"lastName\":").jsonStr(u.lastName).lit(",\"status\":");
  const st = u.status;
  if (st != null) b.jsonStr(st); else b.lit("null");
  b.lit(",\"groups\":"); strs(b, u.groups);
  b.lit(",\"apps\":"); strs(b, u.apps);
  return packed(b.byte(0x7d));
}

export function flatUser(p: usize, n: i32): u64 { return userOut(true, p, n); }
export function jsonUser(p: usize, n: i32): u64 { return userOut(false, p, n); }

/** The compact decision form of (success, message). */
export function decision(ok: bool, p: usize, n: i32): u64 {
  return packed(writeDecision(dump, new Decision(ok, String.UTF8.decodeUnsafe(p, <usize>n))));
}
