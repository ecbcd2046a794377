// Okta profiles (users' and groups'): every attribute, base and custom, as
// the host hands it over — its type and its value as JSON text — with typed
// accessors, as the Go SDK's sdk.Profile.

import { JReader } from "./json";

/** One profile attribute: its type (string, number, integer, boolean,
 * array or object; the user schema's where the gateway read it) and its
 * value as JSON text. */
export class Attr {
  constructor(public type: string, public json: string) {}
}

/** An Okta admin role assignment: type is SUPER_ADMIN, ORG_ADMIN,
 * APP_ADMIN, USER_ADMIN, HELP_DESK_ADMIN, READ_ONLY_ADMIN, ... or CUSTOM,
 * with label naming the (custom) role. */
export class AdminRole {
  constructor(public type: string = "", public label: string = "") {}
}

/** The flat record's attribute type byte (ABI.md, flat user version 2). */
export function attrTypeName(c: u8): string {
  if (c == 0x73) return "string";
  if (c == 0x6e) return "number";
  if (c == 0x69) return "integer";
  if (c == 0x62) return "boolean";
  if (c == 0x61) return "array";
  if (c == 0x6f) return "object";
  return "";
}

/** The JSON type of a value's text (the host's profileTypes refine it). */
export function jsonTypeOf(v: string): string {
  const c = v.charCodeAt(0);
  if (c == 0x22) return "string";
  if (c == 0x74 || c == 0x66) return "boolean";
  if (c == 0x5b) return "array";
  if (c == 0x7b) return "object";
  return "number";
}

/** An Okta profile. The accessors return the zero value when the attribute
 * is absent (Okta leaves null attributes out) or of another type; lookup
 * and has tell the cases apart. */
export class Profile {
  attrs: Map<string, Attr> = new Map();

  /** The attribute names, sorted. */
  names(): string[] {
    const k = this.attrs.keys();
    k.sort();
    return k;
  }
  get size(): i32 { return this.attrs.size; }
  has(name: string): bool { return this.attrs.has(name); }
  /** The attribute, or null when the profile lacks it. */
  lookup(name: string): Attr | null { return this.attrs.has(name) ? this.attrs.get(name) : null; }
  /** The attribute's JSON text ("" when absent). */
  json(name: string): string { return this.attrs.has(name) ? this.attrs.get(name).json : ""; }

  /** A string attribute ("" when absent or not a string). */
  string(name: string): string {
    const v = this.json(name);
    if (v.length == 0 || v.charCodeAt(0) != 0x22) return "";
    const r = reader(v);
    const s = r.str();
    return r.done() == null ? s : "";
  }

  /** A boolean attribute (false when absent or not a boolean). */
  bool(name: string): bool { return this.json(name) == "true"; }

  /** Whether the attribute is a number (or integer). */
  isNumber(name: string): bool {
    const v = this.json(name);
    if (v.length == 0) return false;
    const c = v.charCodeAt(0);
    return c == 0x2d || (c >= 0x30 && c <= 0x39);
  }

  /** A number or integer attribute (0 when absent or not a number). */
  number(name: string): f64 { return this.isNumber(name) ? parseFloat(this.json(name)) : 0; }

  /** An array attribute's string elements (a string attribute as one
   * element; empty when absent or of another type). */
  strings(name: string): string[] {
    const v = this.json(name);
    const out: string[] = [];
    if (v.length == 0) return out;
    const c = v.charCodeAt(0);
    if (c == 0x22) { out.push(this.string(name)); return out; }
    if (c != 0x5b) return out;
    const r = reader(v);
    if (r.arrayStart()) for (let f = true; r.nextElem(f); f = false) {
      if (r.ws() == 0x22) out.push(r.str()); else r.skip();
    }
    return r.done() == null ? out : [];
  }
}

// keep holds the UTF-8 bytes an accessor's reader walks (the reader holds
// only a pointer), so the collector cannot free them mid-read.
let keep: ArrayBuffer = new ArrayBuffer(0);

function reader(v: string): JReader {
  keep = String.UTF8.encode(v);
  return new JReader(changetype<usize>(keep), keep.byteLength);
}

/** Reads a JSON profile object; each attribute's type is its JSON type
 * until profileTypes says otherwise. Null attributes are left out. */
export function readProfile(r: JReader, p: Profile): void {
  if (r.objectStart()) for (let f = true; r.nextKey(f); f = false) {
    const name = String.UTF8.decodeUnsafe(r.keyP, <usize>r.keyN);
    const v = r.raw();
    if (v.length == 0 || v == "null") { p.attrs.delete(name); continue; }
    const t = p.attrs.has(name) && p.attrs.get(name).json.length == 0 ? p.attrs.get(name).type : jsonTypeOf(v);
    p.attrs.set(name, new Attr(t, v));
  }
  // Types that came first (profileTypes before profile) for attributes the
  // profile lacks are not attributes.
  const k = p.attrs.keys();
  for (let i = 0; i < k.length; i++) if (p.attrs.get(k[i]).json.length == 0) p.attrs.delete(k[i]);
}

/** Reads profileTypes into p: the types of attributes already read, or
 * placeholders (empty JSON) that readProfile fills in. */
export function readProfileTypes(r: JReader, p: Profile, profileRead: bool): void {
  if (r.objectStart()) for (let f = true; r.nextKey(f); f = false) {
    const name = String.UTF8.decodeUnsafe(r.keyP, <usize>r.keyN);
    const t = r.str();
    if (p.attrs.has(name)) p.attrs.get(name).type = t;
    else if (!profileRead) p.attrs.set(name, new Attr(t, ""));
  }
}

/** Reads an adminRoles array. */
export function readAdminRoles(r: JReader): AdminRole[] {
  const out: AdminRole[] = [];
  if (r.arrayStart()) for (let f = true; r.nextElem(f); f = false) {
    const ar = new AdminRole();
    if (r.objectStart()) for (let g = true; r.nextKey(g); g = false) {
      if (r.key("type")) ar.type = r.str();
      else if (r.key("label")) ar.label = r.str();
      else r.skip();
    }
    out.push(ar);
  }
  return out;
}
