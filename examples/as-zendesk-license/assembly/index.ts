// as-zendesk-license: examples/zendesk-license in AssemblyScript, with the
// same decisions and the same Zendesk calls. It gives the target user a
// Zendesk agent license with the role named by each requested permission's
// value, through the Zendesk Support API.
//
// Config keys: zendesk_url (e.g. https://acme.zendesk.com), api_email (the
// admin the API token belongs to), api_token (write "${ZENDESK_API_TOKEN}").
// Permission values: "agent" or "admin" set the role; "custom:<id>" makes
// the user an agent with custom role <id>.
//
//   GET /api/v2/users/search.json?query=email:<email>  -> {"users":[{"id":N,...}]}
//   PUT /api/v2/users/<id>.json  {"user":{"custom_role_id":M,"role":"agent"}}
//
// Needs capabilities: config, http, log.
import {
  Request, Decision, success, failure, config, log, http, lastErrorMessage, handleProvisioning,
  JReader, base64Encode, queryEscape, quote, jsonBytes,
} from "../../../sdk/assemblyscript/assembly/index";
export * from "../../../sdk/assemblyscript/assembly/exports";

function trimRight(s: string, c: string): string {
  let n = s.length;
  while (n > 0 && s.charAt(n - 1) == c) n--;
  return s.substring(0, n);
}

class Zendesk {
  base: string = "";
  headers: string[] = [];
  error: string = "";

  /** The Zendesk user id for email, 0 if none, -1 on error (see error). */
  findUser(email: string): i64 {
    const u = this.base + "/api/v2/users/search.json?query=" + queryEscape("email:" + email);
    const resp = http.get(u, this.headers);
    if (resp == null) { this.error = lastErrorMessage(); return -1; }
    if (resp.status != 200) { this.error = "GET " + u + ": HTTP " + resp.status.toString(); return -1; }
    const b = jsonBytes(resp.body);
    const r = new JReader(b.ptr, b.len);
    let found: i64 = 0;
    if (r.objectStart()) for (let f = true; r.nextKey(f); f = false) {
      if (!r.key("users")) { r.skip(); continue; }
      if (r.arrayStart()) for (let g = true; r.nextElem(g); g = false) {
        let id: i64 = 0;
        let em = "";
        if (r.objectStart()) for (let h = true; r.nextKey(h); h = false) {
          if (r.key("id")) id = r.int();
          else if (r.key("email")) em = r.str();
          else r.skip();
        }
        if (found == 0 && em.toLowerCase() == email.toLowerCase()) found = id;
      }
    }
    const e = r.done();
    if (e != null) { this.error = "GET " + u + ": " + e; return -1; }
    return found;
  }

  updateUser(id: i64, fields: string): bool {
    const u = this.base + "/api/v2/users/" + id.toString() + ".json";
    const h = this.headers.slice(0);
    h.push("Content-Type"); h.push("application/json");
    const resp = http.request("PUT", u, h, "{\"user\":" + fields + "}");
    if (resp == null) { this.error = lastErrorMessage(); return false; }
    if (resp.status != 200) {
      this.error = "PUT " + u + ": HTTP " + resp.status.toString() + ": " + resp.body.substring(0, 200);
      return false;
    }
    return true;
  }
}

/** The Zendesk user fields (JSON, keys sorted as Go's encoding/json) for a
 * permission value, or "" with roleError set. */
let roleError = "";
function roleUpdate(value: string): string {
  if (value == "agent" || value == "admin") return "{\"role\":" + quote(value) + "}";
  if (value.startsWith("custom:")) {
    const id = value.substring(7);
    let ok = id.length > 0;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (!(c >= 0x30 && c <= 0x39) && !(i == 0 && (c == 0x2d || c == 0x2b) && id.length > 1)) ok = false;
    }
    if (!ok || id.length > 19) { roleError = "permission " + quote(value) + ": want custom:<role id>"; return ""; }
    return "{\"custom_role_id\":" + I64.parseInt(id).toString() + ",\"role\":\"agent\"}";
  }
  roleError = "permission " + quote(value) + " is not a Zendesk license (want agent, admin or custom:<role id>)";
  return "";
}

function provision(req: Request): Decision {
  const zd = new Zendesk();
  zd.base = trimRight(config("zendesk_url"), "/");
  const email = config("api_email");
  const token = config("api_token");
  if (zd.base.length == 0 || email.length == 0 || token.length == 0) {
    log.error("config keys zendesk_url, api_email and api_token are required");
    return failure("Zendesk provisioning is not configured; contact IT");
  }
  zd.headers = ["Authorization", "Basic " + base64Encode(email + "/token:" + token), "Accept", "application/json"];
  const target = req.targetUser.email;
  const id = zd.findUser(target);
  if (id < 0) {
    log.error("zendesk user search for " + target + ": " + zd.error);
    return failure("could not look the user up in Zendesk");
  }
  if (id == 0) return failure(target + " has no Zendesk user; have them sign in to Zendesk once, then retry");
  for (let i = 0; i < req.permissions.length; i++) {
    const p = req.permissions[i];
    const update = roleUpdate(p.value);
    if (update.length == 0) return failure(roleError);
    if (!zd.updateUser(id, update)) {
      log.error("zendesk update of user " + id.toString() + " (" + target + ") to " + p.value + ": " + zd.error);
      return failure("Zendesk refused the " + quote(p.value) + " license");
    }
    log.info("zendesk user " + id.toString() + " (" + target + "): " + p.value + " license assigned");
  }
  return success("");
}

handleProvisioning(provision);
