// The AssemblyScript SDK decodes the golden flat vectors
// (../../testdata/flat_vectors.json, shared with the Go sdk and the host)
// and JSON documents to the same values, and writes the compact decision
// form. Run by `npm test` (node's test runner) after compiling vectors.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const vectors = JSON.parse(readFileSync(new URL("../../testdata/flat_vectors.json", import.meta.url)));
const wasm = readFileSync(new URL("./vectors.wasm", import.meta.url));
// No hookgate import is reached by the decoders; any call fails the test.
const trap = (name) => () => { throw new Error("unexpected host call " + name); };
const { instance } = await WebAssembly.instantiate(wasm, {
  hookgate: new Proxy({}, { get: (_, name) => trap(name) }),
});
const ex = instance.exports;

function call(fn, bytes, ...pre) {
  const p = ex.alloc(bytes.length) >>> 0;
  new Uint8Array(ex.memory.buffer, p, bytes.length).set(bytes);
  const packed = BigInt.asUintN(64, fn(...pre, p, bytes.length));
  const op = Number(packed >> 32n), on = Number(packed & 0xffffffffn);
  return new TextDecoder().decode(new Uint8Array(ex.memory.buffer, op, on));
}
const hex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const utf8 = (s) => new TextEncoder().encode(s);

test("flat request vectors", () => {
  assert.ok(vectors.requests.length > 0);
  for (const v of vectors.requests) {
    const got = JSON.parse(call(ex.flatRequest, hex(v.hex)));
    delete got.ticket;
    assert.deepEqual(got, v.want, v.name);
  }
});

// What the SDK's dump of a user holds beyond the vector's fields: version 1
// records leave every profile field empty; profileText is each attribute's
// JSON text as the SDK holds it (the host's compact form).
const v1Empty = { type: "", created: "", activated: "", statusChanged: "", lastUpdated: "", profile: {}, profileTypes: {}, profileText: {}, adminRoles: [], isSuperAdmin: false };
const wantV2 = (w) => ({
  ...w,
  profileText: Object.fromEntries(Object.entries(w.profile).map(([k, v]) => [k, JSON.stringify(v)])),
  isSuperAdmin: w.adminRoles.some((r) => r.type === "SUPER_ADMIN"),
});

test("flat user vectors", () => {
  assert.ok(vectors.users.length > 0);
  for (const v of vectors.users) {
    assert.deepEqual(JSON.parse(call(ex.flatUser, hex(v.hex))), { ...v.want, ...v1Empty }, v.name);
  }
});

test("flat user version 2 vectors", () => {
  assert.ok(vectors.users_v2.length > 0);
  for (const v of vectors.users_v2) {
    assert.deepEqual(JSON.parse(call(ex.flatUser, hex(v.hex))), wantV2(v.want), v.name);
    const full = hex(v.hex);
    assert.match(call(ex.flatUser, full.slice(0, full.length - 1)), /"error":"flat user: /, v.name + " truncated");
    const v3 = full.slice(); v3[0] = 3;
    assert.match(call(ex.flatUser, v3), /layout version 3, this sdk reads versions 1 and 2/);
  }
});

test("profile accessors and admin roles", () => {
  const v = hex(vectors.users_v2[0].hex);
  const acc = (name, role = "ORG_ADMIN") => {
    const nb = utf8(name), rb = utf8(role);
    const all = new Uint8Array(v.length + nb.length + rb.length);
    all.set(v); all.set(nb, v.length); all.set(rb, v.length + nb.length);
    return call((p) => ex.accessors(p, v.length, nb.length, rb.length), all);
  };
  assert.equal(acc("department"), "string=R&D number=0.0 isNumber=false bool=false strings=R&D has=true role=false");
  assert.equal(acc("clearance"), "string= number=3.0 isNumber=true bool=false strings= has=true role=false");
  assert.equal(acc("isContractor"), "string= number=0.0 isNumber=false bool=false strings= has=true role=false");
  assert.equal(acc("projects", "Help desk lite"), "string= number=0.0 isNumber=false bool=false strings=atlas|zeus has=true role=true");
  assert.equal(acc("nothing", "SUPER_ADMIN"), "string= number=0.0 isNumber=false bool=false strings= has=false role=true");
});

test("JSON request decodes like the flat one", () => {
  for (const v of vectors.requests) {
    const w = v.want;
    const doc = {
      application: { app_id: w.app_id, instance_id: w.instance_id, user_friendly_label: w.user_friendly_label, extra: [1, { a: null }] },
      permissions: w.permissions,
      target_user: { email: w.email, given_name: w.given_name, family_name: w.family_name },
      access_length: w.access_length, request_comment: w.request_comment, request_task_url: w.request_task_url,
      custom_fields: w.custom_fields === "" ? null : JSON.parse(w.custom_fields),
    };
    const got = JSON.parse(call(ex.jsonRequest, utf8(JSON.stringify(doc, null, 1))));
    const flat = JSON.parse(call(ex.flatRequest, hex(v.hex)));
    // custom_fields comes back as the JSON text (whitespace as sent).
    assert.deepEqual(got.custom_fields === "" ? "" : JSON.parse(got.custom_fields), flat.custom_fields === "" ? "" : JSON.parse(flat.custom_fields), v.name);
    delete got.custom_fields; delete flat.custom_fields;
    assert.deepEqual(got, flat, v.name);
  }
  // Escapes, including a surrogate pair and \u00e9.
  const got = JSON.parse(call(ex.jsonRequest, utf8('{"target_user":{"email":"a\\u00e9\\ud83d\\ude4f\\n\\"b\\\\"},"custom_fields":{"ticket":"T-\\u0031"}}')));
  assert.equal(got.email, 'aé🙏\n"b\\');
  assert.equal(got.ticket, "T-1");
  assert.match(call(ex.jsonRequest, utf8('{"target_user":')), /error/);
});

test("JSON user decodes like the flat one", () => {
  for (const v of vectors.users) {
    assert.deepEqual(JSON.parse(call(ex.jsonUser, utf8(JSON.stringify({ ...v.want, unknown: { x: [1, 2] } })))), { ...v.want, ...v1Empty }, v.name);
  }
  for (const v of vectors.users_v2) {
    const flat = JSON.parse(call(ex.flatUser, hex(v.hex)));
    // The admin API's user document, as the host sends it for user_get
    // without the flat flag; then with profileTypes before profile and a
    // null attribute (left out, as Okta leaves it out).
    assert.deepEqual(JSON.parse(call(ex.jsonUser, utf8(JSON.stringify(v.want)))), flat, v.name);
    const { profile, profileTypes, ...rest } = v.want;
    const reordered = { profileTypes: { ...profileTypes, gone: "string" }, ...rest, profile: { ...profile, gone: null } };
    assert.deepEqual(JSON.parse(call(ex.jsonUser, utf8(JSON.stringify(reordered)))), flat, v.name + " reordered");
  }
  // Without profileTypes an attribute's type is its JSON type.
  const got = JSON.parse(call(ex.jsonUser, utf8('{"id":"00u9","profile":{"a":"x","b":1.5,"c":true,"d":[1],"e":{"k":null},"f":null}}')));
  assert.deepEqual(got.profileTypes, { a: "string", b: "number", c: "boolean", d: "array", e: "object" });
  assert.deepEqual(got.profileText, { a: '"x"', b: "1.5", c: "true", d: "[1]", e: '{"k":null}' });
});

// Stand-in hosts for the user_get fallbacks: a host answers the flags it
// knows and -3 (unknown selector) for the others, as ABI.md says hosts
// before each flag do. Each gets a fresh instance (the SDK remembers a
// refusal for the instance's life).
async function withHost(knows) {
  const seen = [];
  let pending = new Uint8Array(0);
  let mem;
  const v2 = vectors.users_v2[0];
  const v1 = vectors.users[0];
  const host = {
    user_get(by, p, n) {
      seen.push(by);
      if ((by & 0x200) && !knows.v2) { pending = utf8("unknown selector"); return -3; }
      if ((by & 0x100) && !knows.v1) { pending = utf8("unknown selector"); return -3; }
      pending = by & 0x200 ? hex(v2.hex) : by & 0x100 ? hex(v1.hex) : utf8(JSON.stringify(v1.want));
      return pending.length;
    },
    result_len: () => pending.length,
    result_read(p, n) {
      const k = Math.min(n, pending.length);
      new Uint8Array(mem.buffer, p >>> 0, k).set(pending.subarray(0, k));
      return k;
    },
  };
  const { instance } = await WebAssembly.instantiate(wasm, {
    hookgate: new Proxy(host, { get: (h, name) => h[name] ?? trap(name) }),
  });
  mem = instance.exports.memory;
  const x = instance.exports;
  const look = (ref) => {
    const b = utf8(ref);
    const p = x.alloc(b.length) >>> 0;
    new Uint8Array(mem.buffer, p, b.length).set(b);
    const packed = BigInt.asUintN(64, x.lookup(p, b.length));
    return JSON.parse(new TextDecoder().decode(new Uint8Array(mem.buffer, Number(packed >> 32n), Number(packed & 0xffffffffn))));
  };
  return { seen, look };
}

test("user_get falls back to older layouts on older hosts", async () => {
  // A host with full profiles: version 2 on the first ask.
  let h = await withHost({ v1: true, v2: true });
  assert.deepEqual(h.look("alice@example.com"), wantV2(vectors.users_v2[0].want));
  assert.deepEqual(h.seen, [0x300]);
  // A host before full profiles: 0x300 refused once, then version 1 only.
  h = await withHost({ v1: true, v2: false });
  assert.deepEqual(h.look("alice@example.com"), { ...vectors.users[0].want, ...v1Empty });
  h.look("alice@example.com");
  assert.deepEqual(h.seen, [0x300, 0x100, 0x100]);
  // A host before flat records: JSON, after one refusal of each flag.
  h = await withHost({ v1: false, v2: false });
  assert.deepEqual(h.look("alice@example.com"), { ...vectors.users[0].want, ...v1Empty });
  h.look("alice@example.com");
  assert.deepEqual(h.seen, [0x300, 0x100, 0, 0]);
});

test("truncated or versioned flat input is an error", () => {
  const full = hex(vectors.requests[0].hex);
  assert.match(call(ex.flatRequest, full.slice(0, full.length - 1)), /"error":"flat input: /);
  const v2 = full.slice(); v2[0] = 2;
  assert.match(call(ex.flatRequest, v2), /layout version 2/);
});

test("compact decision form", () => {
  assert.equal(call(ex.decision, utf8("on call"), 1), '{"success":true,"message":"on call"}');
  assert.equal(call(ex.decision, utf8(""), 0), '{"success":false}');
  assert.equal(call(ex.decision, utf8('a"b\\c\n\u0001é'), 0), '{"success":false,"message":"a\\"b\\\\c\\n\\u0001é"}');
});
