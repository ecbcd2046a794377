// A small single-pass JSON reader over UTF-8 bytes in linear memory, enough
// for the documents hookgate hands a plugin (requests, users, groups, HTTP
// responses, Okta results and events). It never builds a tree: callers walk
// objects key by key and read the values they want, skipping the rest.
// Errors are sticky: after the first one every read returns an empty value
// and `err` says what and where.

export class JReader {
  p: usize;
  start: usize;
  end: usize;
  err: string | null = null;
  keyP: usize = 0;
  keyN: i32 = 0;

  constructor(p: usize, n: i32) {
    this.p = p;
    this.start = p;
    this.end = p + <usize>n;
  }

  fail(what: string): void {
    if (this.err == null) this.err = what + " at offset " + (this.p - this.start).toString();
    this.p = this.end;
  }

  ws(): u8 {
    while (this.p < this.end) {
      const c = load<u8>(this.p);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) return c;
      this.p++;
    }
    return 0;
  }

  expect(c: u8): bool {
    if (this.ws() != c) { this.fail("want '" + String.fromCharCode(c) + "'"); return false; }
    this.p++;
    return true;
  }

  /** Consumes `null` if it comes next. */
  isNull(): bool {
    if (this.ws() == 0x6e && this.end - this.p >= 4 && load<u32>(this.p) == 0x6c6c756e) { this.p += 4; return true; }
    return false;
  }

  /** Starts an object: true after '{', false (consumed) for null. */
  objectStart(): bool {
    if (this.isNull()) return false;
    return this.expect(0x7b);
  }

  /** Reads the next key of an object (and its ':'); false at '}'. */
  nextKey(first: bool): bool {
    let c = this.ws();
    if (c == 0x7d) { this.p++; return false; }
    if (!first) {
      if (c != 0x2c) { this.fail("want ',' or '}'"); return false; }
      this.p++;
      c = this.ws();
    }
    if (c != 0x22) { this.fail("want a key"); return false; }
    this.p++;
    const s = this.p;
    while (this.p < this.end && load<u8>(this.p) != 0x22) {
      if (load<u8>(this.p) == 0x5c) this.p++;
      this.p++;
    }
    if (this.p >= this.end) { this.fail("unterminated key"); return false; }
    this.keyP = s;
    this.keyN = <i32>(this.p - s);
    this.p++;
    return this.expect(0x3a);
  }

  /** Whether the current key equals the ASCII literal k. */
  key(k: string): bool {
    if (k.length != this.keyN) return false;
    const kp = changetype<usize>(k);
    for (let i = 0; i < this.keyN; i++) {
      if (<u16>load<u8>(this.keyP + <usize>i) != load<u16>(kp + (<usize>i << 1))) return false;
    }
    return true;
  }

  /** Starts an array: true after '[', false (consumed) for null. */
  arrayStart(): bool {
    if (this.isNull()) return false;
    return this.expect(0x5b);
  }

  /** Advances to the next element; false at ']'. */
  nextElem(first: bool): bool {
    const c = this.ws();
    if (c == 0x5d) { this.p++; return false; }
    if (!first) {
      if (c != 0x2c) { this.fail("want ',' or ']'"); return false; }
      this.p++;
    }
    return this.err == null;
  }

  /** Reads a string (null reads as ""), resolving escapes. */
  str(): string {
    if (this.isNull()) return "";
    if (this.ws() != 0x22) { this.fail("want a string"); return ""; }
    this.p++;
    const s = this.p;
    let escaped = false;
    while (this.p < this.end) {
      const c = load<u8>(this.p);
      if (c == 0x22) break;
      if (c == 0x5c) { escaped = true; this.p++; }
      this.p++;
    }
    if (this.p >= this.end) { this.fail("unterminated string"); return ""; }
    const e = this.p;
    this.p++;
    if (!escaped) return String.UTF8.decodeUnsafe(s, e - s);
    return unescape(s, e, this);
  }

  /** Reads an integer (null reads as 0; nullable says whether it was). */
  int(): i64 {
    const c = this.ws();
    let neg = false;
    if (c == 0x2d) { neg = true; this.p++; }
    let v: i64 = 0;
    let digits = 0;
    while (this.p < this.end) {
      const d = load<u8>(this.p);
      if (d < 0x30 || d > 0x39) break;
      v = v * 10 + <i64>(d - 0x30);
      this.p++;
      digits++;
    }
    if (digits == 0) { this.fail("want an integer"); return 0; }
    const d = this.ws();
    if (d == 0x2e || d == 0x65 || d == 0x45) { // a fraction or exponent: skip it
      while (this.p < this.end) {
        const x = load<u8>(this.p);
        if (!(x == 0x2e || x == 0x65 || x == 0x45 || x == 0x2b || x == 0x2d || (x >= 0x30 && x <= 0x39))) break;
        this.p++;
      }
    }
    return neg ? -v : v;
  }

  bool(): bool {
    const c = this.ws();
    if (c == 0x74 && this.end - this.p >= 4) { this.p += 4; return true; }
    if (c == 0x66 && this.end - this.p >= 5) { this.p += 5; return false; }
    this.fail("want a boolean");
    return false;
  }

  /** Skips one value of any type. */
  skip(): void {
    const c = this.ws();
    if (c == 0x22) { this.skipString(); return; }
    if (c == 0x7b || c == 0x5b) {
      let depth = 0;
      while (this.p < this.end) {
        const x = load<u8>(this.p);
        if (x == 0x22) { this.skipString(); continue; }
        this.p++;
        if (x == 0x7b || x == 0x5b) depth++;
        else if (x == 0x7d || x == 0x5d) { depth--; if (depth == 0) return; }
      }
      this.fail("unterminated value");
      return;
    }
    // number, true, false, null
    const s = this.p;
    while (this.p < this.end) {
      const x = load<u8>(this.p);
      if (x == 0x2c || x == 0x7d || x == 0x5d || x == 0x20 || x == 0x0a || x == 0x0d || x == 0x09) break;
      this.p++;
    }
    if (this.p == s) this.fail("want a value");
  }

  /** The raw JSON text of the next value. */
  raw(): string {
    this.ws();
    const s = this.p;
    this.skip();
    return String.UTF8.decodeUnsafe(s, this.p - s);
  }

  private skipString(): void {
    this.p++;
    while (this.p < this.end) {
      const c = load<u8>(this.p);
      if (c == 0x22) { this.p++; return; }
      if (c == 0x5c) this.p++;
      this.p++;
    }
    this.fail("unterminated string");
  }

  /** The error if any, else null (trailing garbage is an error). */
  done(): string | null {
    if (this.err == null && this.ws() != 0) this.fail("trailing data");
    return this.err;
  }
}

function hexVal(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function hex4(p: usize, end: usize): i32 {
  if (end - p < 4) return -1;
  let v = 0;
  for (let i: usize = 0; i < 4; i++) {
    const h = hexVal(load<u8>(p + i));
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

/** Decodes a JSON string body with escapes into a string. */
function unescape(s: usize, e: usize, r: JReader): string {
  let out = "";
  let run = s;
  let p = s;
  while (p < e) {
    const c = load<u8>(p);
    if (c != 0x5c) { p++; continue; }
    if (p > run) out += String.UTF8.decodeUnsafe(run, p - run);
    p++;
    const x = load<u8>(p);
    p++;
    if (x == 0x6e) out += "\n";
    else if (x == 0x74) out += "\t";
    else if (x == 0x72) out += "\r";
    else if (x == 0x62) out += "\b";
    else if (x == 0x66) out += "\f";
    else if (x == 0x75) {
      let u = hex4(p, e);
      if (u < 0) { r.fail("bad \\u escape"); return ""; }
      p += 4;
      if (u >= 0xd800 && u < 0xdc00 && e - p >= 6 && load<u8>(p) == 0x5c && load<u8>(p + 1) == 0x75) {
        const lo = hex4(p + 2, e);
        if (lo >= 0xdc00 && lo < 0xe000) {
          p += 6;
          out += String.fromCharCodes([u, lo]);
          run = p;
          continue;
        }
      }
      if (u >= 0xd800 && u < 0xe000) u = 0xfffd; // a lone surrogate, as encoding/json does
      out += String.fromCharCode(u);
    } else out += String.fromCharCode(x); // \" \\ \/
    run = p;
  }
  if (e > run) out += String.UTF8.decodeUnsafe(run, e - run);
  return out;
}
