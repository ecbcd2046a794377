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

test("flat user vectors", () => {
  assert.ok(vectors.users.length > 0);
  for (const v of vectors.users) {
    assert.deepEqual(JSON.parse(call(ex.flatUser, hex(v.hex))), v.want, v.name);
  }
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
    assert.deepEqual(JSON.parse(call(ex.jsonUser, utf8(JSON.stringify({ ...v.want, unknown: { x: [1, 2] } })))), v.want, v.name);
  }
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
