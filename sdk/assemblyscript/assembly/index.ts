// hookgate plugin SDK for AssemblyScript: the same shape as the Go SDK
// (github.com/hookgate/hookgate/sdk) over ABI 1.1 (sdk/ABI.md).
//
//   import { handlePreApproval, Request, Decision, approve, deny, config, isMember } from "@hookgate/sdk/assembly/index";
//   export * from "@hookgate/sdk/assembly/exports";
//
//   handlePreApproval((req: Request): Decision => {
//     return isMember(req.targetUser.email, config("group")) ? approve("on call") : deny("not on call");
//   });
//
// Build with `asc assembly/index.ts --use abort=<this package>/assembly/abort/abort`
// (see README.md): AssemblyScript's default abort is an `env.abort` import,
// which hookgate refuses.
//
// AssemblyScript has no catchable exceptions, so a host call that fails
// returns a zero value (false, null, 0) and lastError() says why.

import {
  host_log, host_result_len, host_result_read, host_config_get, host_kv_get, host_kv_set,
  host_kv_delete, host_kv_incr, host_kv_compare_and_set, host_user_get, host_user_groups,
  host_group_get, host_group_members, host_is_member, host_http_request, host_okta_action,
} from "./host";
import { ByteBuf, argA, argB, resultBuf } from "./buf";
import { JReader } from "./json";
import { Field, FlatReader } from "./flat";
import { Attr, AdminRole, Profile, attrTypeName, readProfile, readProfileTypes, readAdminRoles } from "./profile";

export { ByteBuf } from "./buf";
export { JReader } from "./json";
export { Field, FlatReader } from "./flat";
export { Attr, AdminRole, Profile } from "./profile";
export { base64Encode, queryEscape, quote, jsonBytes } from "./text";

/** ABI major version (hookgate_abi_version) and the revision this SDK uses. */
export const ABI_VERSION: i32 = 1;
export const ABI_MINOR_VERSION: i32 = 1;

export const KIND_PROVISIONING = "provisioning";
export const KIND_DEPROVISIONING = "deprovisioning";
export const KIND_PRE_APPROVAL = "pre_approval";
export const KIND_REQUEST_VALIDATION = "request_validation";
export const KIND_OKTA_EVENT = "okta_event";

// ---- errors ---------------------------------------------------------------

/** Host error codes (ABI.md section 5). */
export const ERR_NOT_FOUND: i32 = -1;
export const ERR_CAPABILITY: i32 = -2;
export const ERR_INVALID: i32 = -3;
export const ERR_DENIED: i32 = -4;
export const ERR_TOO_LARGE: i32 = -5;
export const ERR_UNAVAILABLE: i32 = -6;
export const ERR_TIMEOUT: i32 = -7;

/** A failed host call: the ABI function, its code and the host's message. */
export class HostError {
  constructor(public op: string, public code: i32, public message: string) {}
  toString(): string { return "hookgate " + this.op + ": " + this.message; }
}

let lastErr: HostError | null = null;

/** The error of the last failed host call made through this SDK, or null
 * when the last call succeeded. */
export function lastError(): HostError | null { return lastErr; }

/** The last error's message, or "" (handy in log lines and decisions). */
export function lastErrorMessage(): string {
  const e = lastErr;
  return e == null ? "" : e.toString();
}

function hostErr(op: string, code: i32): void {
  const n = host_result_len();
  let msg = "error code " + code.toString();
  if (n > 0) {
    resultBuf.reset().reserve(n);
    const m = host_result_read(resultBuf.ptr, <u32>n);
    if (m > 0) msg = String.UTF8.decodeUnsafe(resultBuf.ptr, <usize>m);
  }
  lastErr = new HostError(op, code, msg);
}

/** Copies the pending result of n bytes into resultBuf. */
function fetch(n: i32): ByteBuf {
  resultBuf.reset();
  if (n <= 0) return resultBuf;
  resultBuf.reserve(n);
  const m = host_result_read(resultBuf.ptr, <u32>n);
  resultBuf.len = m < 0 ? 0 : m;
  return resultBuf;
}

/** Checks a host return value: true on success, else records the error. */
function ok(op: string, n: i32): bool {
  if (n < 0) { hostErr(op, n); return false; }
  lastErr = null;
  return true;
}

@inline function enc(b: ByteBuf, s: string): ByteBuf { return b.reset().str(s); }

// ---- decisions ------------------------------------------------------------

/** A handler's answer; the gateway maps it to the caller's literals. */
export class Decision {
  constructor(public success: bool, public message: string = "") {}
}
/** Success of provisioning, deprovisioning or event handling. */
export function success(msg: string = ""): Decision { return new Decision(true, msg); }
/** Failure (nothing done; for okta_event: retry later). */
export function failure(msg: string = ""): Decision { return new Decision(false, msg); }
/** Pre-approves a request (pre_approval). */
export function approve(msg: string = ""): Decision { return new Decision(true, msg); }
/** Declines pre-approval: the request follows the normal approval flow. */
export function deny(msg: string = ""): Decision { return new Decision(false, msg); }
/** Accepts a request (request_validation). */
export function valid(msg: string = ""): Decision { return new Decision(true, msg); }
/** Rejects a request; msg tells the requester what to fix. */
export function invalid(msg: string = ""): Decision { return new Decision(false, msg); }

// ---- the request -----------------------------------------------------------

export class Application {
  _appId: Field = new Field();
  _instanceId: Field = new Field();
  _label: Field = new Field();
  get appId(): string { return this._appId.get(); }
  get instanceId(): string { return this._instanceId.get(); }
  get userFriendlyLabel(): string { return this._label.get(); }
}

export class Permission {
  _label: Field = new Field();
  _value: Field = new Field();
  _type: Field = new Field();
  _source: Field = new Field();
  get label(): string { return this._label.get(); }
  get value(): string { return this._value.get(); }
  get type(): string { return this._type.get(); }
  get source(): string { return this._source.get(); }
  clear(): void { this._label.clear(); this._value.clear(); this._type.clear(); this._source.clear(); }
}

export class TargetUser {
  _email: Field = new Field();
  _given: Field = new Field();
  _family: Field = new Field();
  get email(): string { return this._email.get(); }
  get givenName(): string { return this._given.get(); }
  get familyName(): string { return this._family.get(); }
}

/** An inline access hook request (the same for all four kinds). It is valid
 * during the handler call only: the SDK reuses it for the next call. */
export class Request {
  application: Application = new Application();
  permissions: Permission[] = [];
  targetUser: TargetUser = new TargetUser();
  /** Requested duration in seconds, when hasAccessLength (else permanent). */
  accessLength: i64 = 0;
  hasAccessLength: bool = false;
  _comment: Field = new Field();
  _taskUrl: Field = new Field();
  _custom: Field = new Field();
  private pool: Permission[] = [];

  get requestComment(): string { return this._comment.get(); }
  get requestTaskUrl(): string { return this._taskUrl.get(); }
  /** custom_fields as JSON object text; "" when null or absent. */
  get customFieldsJson(): string { return this._custom.get(); }

  /** A custom field's value: the string for a string field, the JSON text
   * of any other value; null when there is no such field. */
  customField(name: string): string | null {
    const j = this.customFieldsJson;
    if (j.length == 0) return null;
    const b = argB.reset().str(j);
    const r = new JReader(b.ptr, b.len);
    if (!r.objectStart()) return null;
    for (let first = true; r.nextKey(first); first = false) {
      if (r.key(name)) return r.ws() == 0x22 ? r.str() : r.raw();
      r.skip();
    }
    return null;
  }

  reset(): void {
    const a = this.application;
    a._appId.clear(); a._instanceId.clear(); a._label.clear();
    const t = this.targetUser;
    t._email.clear(); t._given.clear(); t._family.clear();
    this._comment.clear(); this._taskUrl.clear(); this._custom.clear();
    this.accessLength = 0;
    this.hasAccessLength = false;
    this.permissions.length = 0;
  }

  /** Appends a cleared permission from the pool. */
  addPermission(): Permission {
    const i = this.permissions.length;
    if (i >= this.pool.length) this.pool.push(new Permission());
    const p = this.pool[i];
    p.clear();
    this.permissions.push(p);
    return p;
  }
}

const theRequest = new Request();

/** The request of the call in progress (what decodeFlatRequest and
 * decodeJSONRequest filled in). */
export function currentRequest(): Request { return theRequest; }

/** Decodes the flat input layout into the shared Request; null or error. */
export function decodeFlatRequest(p: usize, n: i32): string | null {
  const req = theRequest;
  req.reset();
  const r = new FlatReader(p, n);
  const v = r.u8();
  if (r.err == null && v != 1) return "flat input: layout version " + v.toString() + ", this sdk reads version 1";
  r.field(req.application._appId);
  r.field(req.application._instanceId);
  r.field(req.application._label);
  r.field(req.targetUser._email);
  r.field(req.targetUser._given);
  r.field(req.targetUser._family);
  r.field(req._comment);
  r.field(req._taskUrl);
  req.hasAccessLength = r.u8() != 0;
  req.accessLength = r.i64();
  if (!req.hasAccessLength) req.accessLength = 0;
  const count = r.u32();
  if (<usize>count > (r.end - r.p) / 16) r.fail("permission count larger than the input");
  for (let i: u32 = 0; i < count && r.err == null; i++) {
    const pm = req.addPermission();
    r.field(pm._label); r.field(pm._value); r.field(pm._type); r.field(pm._source);
  }
  r.field(req._custom);
  const e = r.done();
  return e == null ? null : "flat input: " + e;
}

/** Decodes the JSON request into the shared Request; null or error. */
export function decodeJSONRequest(p: usize, n: i32): string | null {
  const req = theRequest;
  req.reset();
  const r = new JReader(p, n);
  if (!r.objectStart()) return r.err != null ? r.err : "request is null";
  for (let first = true; r.nextKey(first); first = false) {
    if (r.key("application")) {
      if (r.objectStart()) for (let f = true; r.nextKey(f); f = false) {
        if (r.key("app_id")) req.application._appId.set(r.str());
        else if (r.key("instance_id")) req.application._instanceId.set(r.str());
        else if (r.key("user_friendly_label")) req.application._label.set(r.str());
        else r.skip();
      }
    } else if (r.key("target_user")) {
      if (r.objectStart()) for (let f = true; r.nextKey(f); f = false) {
        if (r.key("email")) req.targetUser._email.set(r.str());
        else if (r.key("given_name")) req.targetUser._given.set(r.str());
        else if (r.key("family_name")) req.targetUser._family.set(r.str());
        else r.skip();
      }
    } else if (r.key("permissions")) {
      if (r.arrayStart()) for (let f = true; r.nextElem(f); f = false) {
        const pm = req.addPermission();
        if (r.objectStart()) for (let g = true; r.nextKey(g); g = false) {
          if (r.key("label")) pm._label.set(r.str());
          else if (r.key("value")) pm._value.set(r.str());
          else if (r.key("type")) pm._type.set(r.str());
          else if (r.key("source")) pm._source.set(r.str());
          else r.skip();
        }
      }
    } else if (r.key("access_length")) {
      if (!r.isNull()) { req.accessLength = r.int(); req.hasAccessLength = true; }
    } else if (r.key("request_comment")) req._comment.set(r.str());
    else if (r.key("request_task_url")) req._taskUrl.set(r.str());
    else if (r.key("custom_fields")) {
      if (!r.isNull()) req._custom.set(r.raw());
    } else r.skip();
  }
  return r.done();
}

// ---- Okta events -----------------------------------------------------------

/** An Okta System Log actor or target. */
export class OktaActor {
  id: string = "";
  type: string = "";
  alternateId: string = "";
  displayName: string = "";
}

/** One Okta System Log event, as delivered to [[on_event]] plugins. */
export class OktaEvent {
  uuid: string = "";
  /** RFC 3339 time as Okta wrote it. */
  published: string = "";
  eventType: string = "";
  displayMessage: string = "";
  severity: string = "";
  outcomeResult: string = "";
  outcomeReason: string = "";
  actor: OktaActor = new OktaActor();
  target: OktaActor[] = [];
  /** The whole event JSON, for fields not modelled here. */
  raw: string = "";

  /** Targets of one Okta type ("User", "UserGroup", "AppInstance"...). */
  targets(type: string): OktaActor[] {
    const out: OktaActor[] = [];
    for (let i = 0; i < this.target.length; i++) if (this.target[i].type == type) out.push(this.target[i]);
    return out;
  }
}

function readActor(r: JReader, a: OktaActor): void {
  if (!r.objectStart()) return;
  for (let f = true; r.nextKey(f); f = false) {
    if (r.key("id")) a.id = r.str();
    else if (r.key("type")) a.type = r.str();
    else if (r.key("alternateId")) a.alternateId = r.str();
    else if (r.key("displayName")) a.displayName = r.str();
    else r.skip();
  }
}

function decodeOktaEvent(p: usize, n: i32, ev: OktaEvent): string | null {
  const r = new JReader(p, n);
  ev.raw = String.UTF8.decodeUnsafe(p, <usize>n);
  if (!r.objectStart()) return r.err != null ? r.err : "event is null";
  for (let first = true; r.nextKey(first); first = false) {
    if (r.key("uuid")) ev.uuid = r.str();
    else if (r.key("published")) ev.published = r.str();
    else if (r.key("eventType")) ev.eventType = r.str();
    else if (r.key("displayMessage")) ev.displayMessage = r.str();
    else if (r.key("severity")) ev.severity = r.str();
    else if (r.key("outcome")) {
      if (r.objectStart()) for (let f = true; r.nextKey(f); f = false) {
        if (r.key("result")) ev.outcomeResult = r.str();
        else if (r.key("reason")) ev.outcomeReason = r.str();
        else r.skip();
      }
    } else if (r.key("actor")) readActor(r, ev.actor);
    else if (r.key("target")) {
      if (r.arrayStart()) for (let f = true; r.nextElem(f); f = false) {
        const a = new OktaActor();
        readActor(r, a);
        ev.target.push(a);
      }
    } else r.skip();
  }
  return r.done();
}

// ---- handlers and dispatch -------------------------------------------------

let hProvisioning: ((req: Request) => Decision) | null = null;
let hDeprovisioning: ((req: Request) => Decision) | null = null;
let hPreApproval: ((req: Request) => Decision) | null = null;
let hRequestValidation: ((req: Request) => Decision) | null = null;
let hOktaEvent: ((ev: OktaEvent) => Decision) | null = null;

/** Registers fn for the provisioning hook (call at the top level of your
 * module; a later registration replaces an earlier one). */
export function handleProvisioning(fn: (req: Request) => Decision): void { hProvisioning = fn; }
/** Registers fn for the deprovisioning hook. */
export function handleDeprovisioning(fn: (req: Request) => Decision): void { hDeprovisioning = fn; }
/** Registers fn for the pre_approval hook. */
export function handlePreApproval(fn: (req: Request) => Decision): void { hPreApproval = fn; }
/** Registers fn for the request_validation hook. */
export function handleRequestValidation(fn: (req: Request) => Decision): void { hRequestValidation = fn; }
/** Registers fn for Okta events routed by [[on_event]]; a failure is retried. */
export function handleOktaEvent(fn: (ev: OktaEvent) => Decision): void { hOktaEvent = fn; }

/** The output document of the current call (alive until the next call). */
const out = new ByteBuf(512);

function kindIs(kp: usize, kn: u32, k: string): bool {
  if (<i32>kn != k.length) return false;
  const sp = changetype<usize>(k);
  for (let i: u32 = 0; i < kn; i++) {
    if (<u16>load<u8>(kp + <usize>i) != load<u16>(sp + (<usize>i << 1))) return false;
  }
  return true;
}

function requestHandler(kp: usize, kn: u32): ((req: Request) => Decision) | null {
  if (kindIs(kp, kn, KIND_PRE_APPROVAL)) return hPreApproval;
  if (kindIs(kp, kn, KIND_PROVISIONING)) return hProvisioning;
  if (kindIs(kp, kn, KIND_DEPROVISIONING)) return hDeprovisioning;
  if (kindIs(kp, kn, KIND_REQUEST_VALIDATION)) return hRequestValidation;
  return null;
}

function handledKinds(): string {
  const ks: string[] = [];
  if (hDeprovisioning != null) ks.push(KIND_DEPROVISIONING);
  if (hOktaEvent != null) ks.push(KIND_OKTA_EVENT);
  if (hPreApproval != null) ks.push(KIND_PRE_APPROVAL);
  if (hProvisioning != null) ks.push(KIND_PROVISIONING);
  if (hRequestValidation != null) ks.push(KIND_REQUEST_VALIDATION);
  return ks.join(", ");
}

/** Writes the compact decision form {"success":B,"message":"M"}. */
export function writeDecision(b: ByteBuf, d: Decision): ByteBuf {
  b.reset().lit(d.success ? "{\"success\":true" : "{\"success\":false");
  if (d.message.length > 0) b.lit(",\"message\":").jsonStr(d.message);
  return b.byte(0x7d);
}

function writeError(code: string, msg: string): ByteBuf {
  return out.reset().lit("{\"error\":{\"code\":").jsonStr(code).lit(",\"message\":").jsonStr(msg).lit("}}");
}

@inline function packed(b: ByteBuf): u64 { return (<u64>b.ptr << 32) | <u64><u32>b.len; }

function noHandler(kp: usize, kn: u32): u64 {
  const kind = String.UTF8.decodeUnsafe(kp, <usize>kn);
  return packed(writeError("no_handler", "plugin has no handler for kind \"" + kind + "\" (it handles: " + handledKinds() + ")"));
}

/** hookgate_call: JSON input for every kind. */
export function dispatch(kp: usize, kn: u32, ip: usize, il: u32): u64 {
  if (kindIs(kp, kn, KIND_OKTA_EVENT)) {
    const h = hOktaEvent;
    if (h == null) return noHandler(kp, kn);
    const ev = new OktaEvent();
    const err = decodeOktaEvent(ip, <i32>il, ev);
    if (err != null) return packed(writeError("bad_input", "decode okta event: " + err));
    return packed(writeDecision(out, h(ev)));
  }
  const h = requestHandler(kp, kn);
  if (h == null) return noHandler(kp, kn);
  const err = decodeJSONRequest(ip, <i32>il);
  if (err != null) return packed(writeError("bad_input", "decode request: " + err));
  return packed(writeDecision(out, h(theRequest)));
}

/** hookgate_call_flat: inline hook kinds in the flat layout. */
export function dispatchFlat(kp: usize, kn: u32, ip: usize, il: u32): u64 {
  const h = requestHandler(kp, kn);
  if (h == null) return noHandler(kp, kn);
  const err = decodeFlatRequest(ip, <i32>il);
  if (err != null) return packed(writeError("bad_input", err));
  return packed(writeDecision(out, h(theRequest)));
}

/** The block hookgate_alloc hands the host (valid until the call returns). */
const input = new ByteBuf(4096);

/** hookgate_alloc: a reused, growing buffer. */
export function alloc(size: i32): usize {
  input.reset();
  input.reserve(size < 1 ? 1 : size);
  return input.ptr;
}

// ---- abort -----------------------------------------------------------------

export { abort } from "./abort";

// ---- log -------------------------------------------------------------------

/** Log lines go to the gateway's log under the plugin's name; `hookgate
 * plugin test` prints them. Always allowed. */
export namespace log {
  export function debug(msg: string): void { const b = enc(argA, msg); host_log(0, b.ptr, <u32>b.len); }
  export function info(msg: string): void { const b = enc(argA, msg); host_log(1, b.ptr, <u32>b.len); }
  export function warn(msg: string): void { const b = enc(argA, msg); host_log(2, b.ptr, <u32>b.len); }
  export function error(msg: string): void { const b = enc(argA, msg); host_log(3, b.ptr, <u32>b.len); }
}

// ---- config ----------------------------------------------------------------

// Config values are fixed for an instance's life (a reload that changes
// them starts new instances), so each key is fetched once.
const configCache = new Map<string, string | null>();

/** The plugin's config value for key, or null (unset, or no "config"
 * capability: lastError() tells). Cached for the instance's life. */
export function lookupConfig(key: string): string | null {
  if (configCache.has(key)) { lastErr = null; return configCache.get(key); }
  const b = enc(argA, key);
  const n = host_config_get(b.ptr, <u32>b.len);
  if (!ok("config_get", n)) {
    if (n == ERR_NOT_FOUND) configCache.set(key, null);
    return null;
  }
  const v = fetch(n).toString();
  configCache.set(key, v);
  return v;
}

/** The config value for key, or "" when unset. */
export function config(key: string): string {
  const v = lookupConfig(key);
  return v == null ? "" : v;
}

// ---- kv --------------------------------------------------------------------

/** The plugin's private key/value store (capability "kv"). */
export namespace kv {
  /** The value under key as bytes, or null (absent: lastError().code == ERR_NOT_FOUND). */
  export function get(key: string): Uint8Array | null {
    const b = enc(argA, key);
    const n = host_kv_get(b.ptr, <u32>b.len);
    if (!ok("kv_get", n)) return null;
    const r = fetch(n);
    const v = new Uint8Array(r.len);
    memory.copy(v.dataStart, r.ptr, <usize>r.len);
    return v;
  }

  /** The value under key as UTF-8 text, or null. */
  export function getString(key: string): string | null {
    const b = enc(argA, key);
    const n = host_kv_get(b.ptr, <u32>b.len);
    if (!ok("kv_get", n)) return null;
    return fetch(n).toString();
  }

  /** Stores value (UTF-8); ttlSeconds 0 keeps it until deleted. */
  export function set(key: string, value: string, ttlSeconds: i64 = 0): bool {
    const k = enc(argA, key);
    const v = enc(argB, value);
    return ok("kv_set", host_kv_set(k.ptr, <u32>k.len, v.ptr, <u32>v.len, ttlSeconds));
  }

  /** Stores raw bytes. */
  export function setBytes(key: string, value: Uint8Array, ttlSeconds: i64 = 0): bool {
    const k = enc(argA, key);
    return ok("kv_set", host_kv_set(k.ptr, <u32>k.len, value.dataStart, <u32>value.length, ttlSeconds));
  }

  /** Deletes key (a missing key is no error). */
  export function del(key: string): bool {
    const k = enc(argA, key);
    return ok("kv_delete", host_kv_delete(k.ptr, <u32>k.len));
  }

  /** Atomically adds delta to the decimal integer under key (missing = 0)
   * and returns the new value (ABI 1.1); N concurrent incr(key, 1) add
   * exactly N across every instance. ttlSeconds applies when the key is
   * created. On failure returns 0 and lastError() is set. */
  export function incr(key: string, delta: i64 = 1, ttlSeconds: i64 = 0): i64 {
    const k = enc(argA, key);
    const n = host_kv_incr(k.ptr, <u32>k.len, delta, ttlSeconds);
    if (!ok("kv_incr", n)) return 0;
    const r = fetch(n);
    const rd = new JReader(r.ptr, r.len);
    return rd.int();
  }

  /** Atomically stores value only if key holds exactly old (ABI 1.1). */
  export function compareAndSet(key: string, old: string, value: string, ttlSeconds: i64 = 0): bool {
    const k = enc(argA, key);
    const o = enc(argB, old);
    const v = new ByteBuf(String.UTF8.byteLength(value)).str(value);
    const n = host_kv_compare_and_set(k.ptr, <u32>k.len, 1, o.ptr, <u32>o.len, v.ptr, <u32>v.len, ttlSeconds);
    return ok("kv_compare_and_set", n) && n == 1;
  }

  /** Atomically stores value only if key is absent (ABI 1.1). */
  export function setIfAbsent(key: string, value: string, ttlSeconds: i64 = 0): bool {
    const k = enc(argA, key);
    const v = enc(argB, value);
    const n = host_kv_compare_and_set(k.ptr, <u32>k.len, 0, 0, 0, v.ptr, <u32>v.len, ttlSeconds);
    return ok("kv_compare_and_set", n) && n == 1;
  }
}

// ---- identity --------------------------------------------------------------

/** A user of the live identity state (mirrors Okta). */
export class User {
  id: string = "";
  login: string = "";
  email: string = "";
  displayName: string = "";
  firstName: string = "";
  lastName: string = "";
  /** Okta status (ACTIVE, SUSPENDED...), null until known. */
  status: string | null = null;
  /** Group ids; apps are the ids of apps Okta logged an app-user
   * assignment for (direct, group- or rule-driven). */
  groups: string[] = [];
  apps: string[] = [];
  /** The Okta user type id; created, activated, statusChanged and
   * lastUpdated are Okta's timestamps (RFC 3339). All "" until the gateway
   * has read the user from Okta (sync or lookup), or from a host before
   * full profiles. */
  type: string = "";
  created: string = "";
  activated: string = "";
  statusChanged: string = "";
  lastUpdated: string = "";
  _profile: Profile | null = null;
  _roles: AdminRole[] | null = null;
  // The flat record's profile and role section (checked when decoded),
  // decoded on the first read of profile or adminRoles: a handler that
  // reads neither pays for a copy of the bytes only.
  _lazy: ArrayBuffer | null = null;

  /** Every attribute of the user's Okta profile, base and custom
   * (department, title, employeeType, costCenter, manager, ...):
   * profile.string("department"). */
  get profile(): Profile {
    if (this._profile == null) this.decodeLazy();
    return this._profile!;
  }
  set profile(p: Profile) { this.decodeLazy(); this._profile = p; }
  /** The user's Okta admin role assignments. */
  get adminRoles(): AdminRole[] {
    if (this._roles == null) this.decodeLazy();
    return this._roles!;
  }
  set adminRoles(r: AdminRole[]) { this.decodeLazy(); this._roles = r; }

  private decodeLazy(): void {
    if (this._profile != null) return;
    const p = new Profile();
    const roles: AdminRole[] = [];
    const b = this._lazy;
    if (b != null) {
      const r = new FlatReader(changetype<usize>(b), b.byteLength);
      let c = r.u32();
      for (let i: u32 = 0; i < c && r.err == null; i++) {
        const name = r.str();
        const t = attrTypeName(r.u8());
        p.attrs.set(name, new Attr(t, r.str()));
      }
      c = r.u32();
      for (let i: u32 = 0; i < c && r.err == null; i++) {
        const ty = r.str();
        roles.push(new AdminRole(ty, r.str()));
      }
      this._lazy = null;
    }
    this._profile = p;
    this._roles = roles;
  }

  /** Whether the user holds the SUPER_ADMIN role. */
  isSuperAdmin(): bool { return this.hasAdminRole("SUPER_ADMIN"); }

  /** Whether the user holds an admin role of this type, or, for custom
   * roles, with this label. */
  hasAdminRole(typeOrLabel: string): bool {
    for (let i = 0; i < this.adminRoles.length; i++) {
      const r = this.adminRoles[i];
      if (r.type == typeOrLabel || (r.type == "CUSTOM" && r.label == typeOrLabel)) return true;
    }
    return false;
  }
}

/** A group of the live identity state. */
export class Group {
  id: string = "";
  name: string = "";
  description: string = "";
  /** User ids (empty in userGroups results). */
  members: string[] = [];
  apps: string[] = [];
  /** OKTA_GROUP, APP_GROUP or BUILT_IN ("" until a sync; not in
   * userGroups results). */
  type: string = "";
  /** The group's Okta profile from the last sync (empty in userGroups
   * results). */
  profile: Profile = new Profile();
}

// user_get selectors' flags (ABI.md "Flat user records"): 0x100 the flat
// layout version 1, 0x100|0x200 version 2 with the profile.
const USER_GET_FLAT: i32 = 0x100;
const USER_GET_PROFILE: i32 = 0x200;
// Set once the host refused 0x100 (then JSON) or 0x300 (then 0x100).
let hostLacksFlatUser = false;
let hostLacksFlatProfile = false;

/** Decodes a flat user record, layout version 1 or 2; null on error (the
 * error is in errOut[0]). */
export function decodeFlatUser(p: usize, n: i32, errOut: string[]): User | null {
  const r = new FlatReader(p, n);
  const v = r.u8();
  if (r.err == null && v != 1 && v != 2) { errOut.push("flat user: layout version " + v.toString() + ", this sdk reads versions 1 and 2"); return null; }
  const u = new User();
  u.id = r.str(); u.login = r.str(); u.email = r.str();
  u.displayName = r.str(); u.firstName = r.str(); u.lastName = r.str();
  const has = r.u8() != 0;
  const st = r.str();
  if (has) u.status = st;
  u.groups = r.strs();
  u.apps = r.strs();
  if (v == 2) {
    u.type = r.str(); u.created = r.str(); u.activated = r.str();
    u.statusChanged = r.str(); u.lastUpdated = r.str();
    // The profile and the roles: checked now, copied, decoded when read.
    const start = r.p;
    let c = r.u32();
    // Each attribute is at least its name and value lengths and the type byte.
    if (<usize>c > (r.end - r.p) / 9) r.fail("attribute count larger than the input");
    for (let i: u32 = 0; i < c && r.err == null; i++) { r.skipStr(); r.u8(); r.skipStr(); }
    c = r.u32();
    if (<usize>c > (r.end - r.p) / 8) r.fail("role count larger than the input");
    for (let i: u32 = 0; i < c && r.err == null; i++) { r.skipStr(); r.skipStr(); }
    if (r.err == null) {
      const n = r.p - start;
      const b = new ArrayBuffer(<i32>n);
      memory.copy(changetype<usize>(b), start, n);
      u._lazy = b;
    }
  }
  const e = r.done();
  if (e != null) { errOut.push("flat user: " + e); return null; }
  return u;
}

function readStrs(r: JReader): string[] {
  const out: string[] = [];
  if (r.arrayStart()) for (let f = true; r.nextElem(f); f = false) out.push(r.str());
  return out;
}

function readUser(r: JReader): User | null {
  if (!r.objectStart()) return null;
  const u = new User();
  let profileRead = false;
  for (let f = true; r.nextKey(f); f = false) {
    if (r.key("id")) u.id = r.str();
    else if (r.key("login")) u.login = r.str();
    else if (r.key("email")) u.email = r.str();
    else if (r.key("displayName")) u.displayName = r.str();
    else if (r.key("firstName")) u.firstName = r.str();
    else if (r.key("lastName")) u.lastName = r.str();
    else if (r.key("status")) { if (!r.isNull()) u.status = r.str(); }
    else if (r.key("groups")) u.groups = readStrs(r);
    else if (r.key("apps")) u.apps = readStrs(r);
    else if (r.key("type")) u.type = r.str();
    else if (r.key("created")) u.created = r.str();
    else if (r.key("activated")) u.activated = r.str();
    else if (r.key("statusChanged")) u.statusChanged = r.str();
    else if (r.key("lastUpdated")) u.lastUpdated = r.str();
    else if (r.key("profile")) { readProfile(r, u.profile); profileRead = true; }
    else if (r.key("profileTypes")) readProfileTypes(r, u.profile, profileRead);
    else if (r.key("adminRoles")) u.adminRoles = readAdminRoles(r);
    else r.skip();
  }
  return u;
}

/** Decodes a JSON user document. */
export function decodeJSONUser(p: usize, n: i32, errOut: string[]): User | null {
  const r = new JReader(p, n);
  const u = readUser(r);
  const e = r.done();
  if (e != null || u == null) { errOut.push(e != null ? e : "user is null"); return null; }
  return u;
}

function readGroup(r: JReader): Group {
  const g = new Group();
  if (r.objectStart()) for (let f = true; r.nextKey(f); f = false) {
    if (r.key("id")) g.id = r.str();
    else if (r.key("name")) g.name = r.str();
    else if (r.key("description")) g.description = r.str();
    else if (r.key("members")) g.members = readStrs(r);
    else if (r.key("apps")) g.apps = readStrs(r);
    else if (r.key("type")) g.type = r.str();
    else if (r.key("profile")) readProfile(r, g.profile);
    else r.skip();
  }
  return g;
}

function decodeFail(op: string, e: string): void { lastErr = new HostError(op, ERR_INVALID, "decode: " + e); }

/** Asks user_get with the flags; null (with lastError) on failure, and
 * `hostRefused` set when the host answered ERR_INVALID (an unknown
 * selector on an older host). */
let hostRefused = false;
function flatUser(by: i32, ref: string): User | null {
  const b = enc(argA, ref);
  const n = host_user_get(by, b.ptr, <u32>b.len);
  hostRefused = n == ERR_INVALID;
  if (hostRefused || !ok("user_get", n)) return null;
  const r = fetch(n);
  const errs: string[] = [];
  const u = decodeFlatUser(r.ptr, r.len, errs);
  if (u == null) decodeFail("user_get", errs[0]);
  return u;
}

function getUser(by: i32, ref: string): User | null {
  // Newest layout first: flat version 2 (profile, type, timestamps, admin
  // roles), then version 1, then JSON, each fallback for the instance's
  // life once the host refused the flag.
  if (!hostLacksFlatUser && !hostLacksFlatProfile) {
    const u = flatUser(by | USER_GET_FLAT | USER_GET_PROFILE, ref);
    if (!hostRefused) return u;
    hostLacksFlatProfile = true; // a host before full profiles
  }
  if (!hostLacksFlatUser) {
    const u = flatUser(by | USER_GET_FLAT, ref);
    if (!hostRefused) return u;
    hostLacksFlatUser = true; // an older host: the flag is an unknown selector
  }
  const b = enc(argA, ref);
  const n = host_user_get(by, b.ptr, <u32>b.len);
  if (!ok("user_get", n)) return null;
  const r = fetch(n);
  const errs: string[] = [];
  const u = decodeJSONUser(r.ptr, r.len, errs);
  if (u == null) decodeFail("user_get", errs[0]);
  return u;
}

/** A user by id, login or email (an email with no match falls back to the
 * login); null if none (lastError().code == ERR_NOT_FOUND) or on error.
 * Needs capability "identity". */
export function lookupUser(ref: string): User | null { return getUser(0, ref); }
export function userByID(id: string): User | null { return getUser(1, id); }
export function userByLogin(login: string): User | null { return getUser(2, login); }
export function userByEmail(email: string): User | null { return getUser(3, email); }

/** Whether the user (id, login or email) is in the group (id or name);
 * unknown users or groups are not members. false with lastError() set on
 * failure. */
export function isMember(user: string, group: string): bool {
  const u = enc(argA, user);
  const g = enc(argB, group);
  const n = host_is_member(u.ptr, <u32>u.len, g.ptr, <u32>g.len);
  return ok("is_member", n) && n == 1;
}

/** The groups (id, name, description) the user belongs to; null on error. */
export function userGroups(user: string): Group[] | null {
  const b = enc(argA, user);
  const n = host_user_groups(b.ptr, <u32>b.len);
  if (!ok("user_groups", n)) return null;
  const res = fetch(n);
  const r = new JReader(res.ptr, res.len);
  const out: Group[] = [];
  if (r.arrayStart()) for (let f = true; r.nextElem(f); f = false) out.push(readGroup(r));
  const e = r.done();
  if (e != null) { decodeFail("user_groups", e); return null; }
  return out;
}

/** A group by id or name (case-insensitive); null if none or on error. */
export function lookupGroup(ref: string): Group | null {
  const b = enc(argA, ref);
  const n = host_group_get(b.ptr, <u32>b.len);
  if (!ok("group_get", n)) return null;
  const res = fetch(n);
  const r = new JReader(res.ptr, res.len);
  const g = readGroup(r);
  const e = r.done();
  if (e != null) { decodeFail("group_get", e); return null; }
  return g;
}

/** The users in the group (id or name); null on error. */
export function groupMembers(ref: string): User[] | null {
  const b = enc(argA, ref);
  const n = host_group_members(b.ptr, <u32>b.len);
  if (!ok("group_members", n)) return null;
  const res = fetch(n);
  const r = new JReader(res.ptr, res.len);
  const out: User[] = [];
  if (r.arrayStart()) for (let f = true; r.nextElem(f); f = false) {
    const u = readUser(r);
    if (u != null) out.push(u);
  }
  const e = r.done();
  if (e != null) { decodeFail("group_members", e); return null; }
  return out;
}

// ---- HTTP ------------------------------------------------------------------

/** An HTTP response; any status is a response, not an error. */
export class HttpResponse {
  status: i32 = 0;
  headers: Map<string, string> = new Map();
  /** The body as text (a non-UTF-8 body is in bodyBase64 instead). */
  body: string = "";
  bodyBase64: string = "";
  header(name: string): string | null {
    const keys = this.headers.keys();
    const want = name.toLowerCase();
    for (let i = 0; i < keys.length; i++) if (keys[i].toLowerCase() == want) return this.headers.get(keys[i]);
    return null;
  }
}

const httpReq = new ByteBuf(1024);

export namespace http {
  /** Sends a request through the host (capability "http"; the host must be
   * in allowed_hosts). headers is a flat list: name, value, name, value...
   * null on failure (ERR_DENIED, ERR_TIMEOUT, ERR_UNAVAILABLE...). */
  export function request(method: string, url: string, headers: string[] = [], body: string | null = null): HttpResponse | null {
    const b = httpReq.reset().lit("{\"method\":").jsonStr(method.length == 0 ? "GET" : method).lit(",\"url\":").jsonStr(url);
    if (headers.length > 0) {
      b.lit(",\"headers\":{");
      for (let i = 0; i + 1 < headers.length; i += 2) {
        if (i > 0) b.byte(0x2c);
        b.jsonStr(headers[i]).byte(0x3a).jsonStr(headers[i + 1]);
      }
      b.byte(0x7d);
    }
    if (body != null) b.lit(",\"body\":").jsonStr(body);
    b.byte(0x7d);
    const n = host_http_request(b.ptr, <u32>b.len);
    if (!ok("http_request", n)) return null;
    const res = fetch(n);
    const r = new JReader(res.ptr, res.len);
    const out = new HttpResponse();
    if (r.objectStart()) for (let f = true; r.nextKey(f); f = false) {
      if (r.key("status")) out.status = <i32>r.int();
      else if (r.key("body")) out.body = r.str();
      else if (r.key("body_base64")) out.bodyBase64 = r.str();
      else if (r.key("headers")) {
        if (r.objectStart()) for (let g = true; r.nextKey(g); g = false) {
          const k = String.UTF8.decodeUnsafe(r.keyP, <usize>r.keyN);
          out.headers.set(k, r.str());
        }
      } else r.skip();
    }
    const e = r.done();
    if (e != null) { decodeFail("http_request", e); return null; }
    return out;
  }

  export function get(url: string, headers: string[] = []): HttpResponse | null { return request("GET", url, headers, null); }

  export function post(url: string, contentType: string, body: string, headers: string[] = []): HttpResponse | null {
    const h = headers.slice(0);
    if (contentType.length > 0) { h.push("Content-Type"); h.push(contentType); }
    return request("POST", url, h, body);
  }
}

// ---- Okta actions ------------------------------------------------------------

/** What an Okta action changed, by Okta id. */
export class OktaResult {
  action: string = "";
  userId: string = "";
  groupId: string = "";
  appId: string = "";
  message: string = "";
}

export const OKTA_ADD_USER_TO_GROUP = "add_user_to_group";
export const OKTA_REMOVE_USER_FROM_GROUP = "remove_user_from_group";
export const OKTA_ASSIGN_APP_TO_GROUP = "assign_app_to_group";
export const OKTA_UNASSIGN_APP_FROM_GROUP = "unassign_app_from_group";
export const OKTA_ASSIGN_USER_TO_APP = "assign_user_to_app";
export const OKTA_UNASSIGN_USER_FROM_APP = "unassign_user_from_app";

export namespace okta {
  /** Performs one Okta action through the gateway (capability "okta");
   * empty user/group/app are left out. null on failure. */
  export function action(act: string, user: string = "", group: string = "", app: string = ""): OktaResult | null {
    const b = argA.reset().lit("{\"action\":").jsonStr(act);
    if (user.length > 0) b.lit(",\"user\":").jsonStr(user);
    if (group.length > 0) b.lit(",\"group\":").jsonStr(group);
    if (app.length > 0) b.lit(",\"app\":").jsonStr(app);
    b.byte(0x7d);
    const n = host_okta_action(b.ptr, <u32>b.len);
    if (!ok("okta_action", n)) return null;
    const res = fetch(n);
    const r = new JReader(res.ptr, res.len);
    const o = new OktaResult();
    if (r.objectStart()) for (let f = true; r.nextKey(f); f = false) {
      if (r.key("action")) o.action = r.str();
      else if (r.key("user_id")) o.userId = r.str();
      else if (r.key("group_id")) o.groupId = r.str();
      else if (r.key("app_id")) o.appId = r.str();
      else if (r.key("message")) o.message = r.str();
      else r.skip();
    }
    const e = r.done();
    if (e != null) { decodeFail("okta_action", e); return null; }
    return o;
  }
  export function addUserToGroup(user: string, group: string): OktaResult | null { return action(OKTA_ADD_USER_TO_GROUP, user, group); }
  export function removeUserFromGroup(user: string, group: string): OktaResult | null { return action(OKTA_REMOVE_USER_FROM_GROUP, user, group); }
  export function assignAppToGroup(app: string, group: string): OktaResult | null { return action(OKTA_ASSIGN_APP_TO_GROUP, "", group, app); }
  export function unassignAppFromGroup(app: string, group: string): OktaResult | null { return action(OKTA_UNASSIGN_APP_FROM_GROUP, "", group, app); }
  export function assignUserToApp(user: string, app: string): OktaResult | null { return action(OKTA_ASSIGN_USER_TO_APP, user, "", app); }
  export function unassignUserFromApp(user: string, app: string): OktaResult | null { return action(OKTA_UNASSIGN_USER_FROM_APP, user, "", app); }
}
