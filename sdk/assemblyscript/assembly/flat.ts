// The flat layouts of sdk/ABI.md ("Flat input", "Flat user records"):
// length-prefixed little-endian fields the host writes instead of JSON.

/** A string field of a call's input: a view of UTF-8 bytes decoded into a
 * string only when first read (so a handler pays for the fields it uses). */
export class Field {
  p: usize = 0;
  n: i32 = 0;
  s: string | null = null;

  view(p: usize, n: i32): void { this.p = p; this.n = n; this.s = null; }
  set(s: string): void { this.s = s; this.n = 0; }
  clear(): void { this.s = ""; this.n = 0; }

  get(): string {
    let s = this.s;
    if (s == null) {
      s = String.UTF8.decodeUnsafe(this.p, <usize>this.n);
      this.s = s;
    }
    return s;
  }
}

/** Reads the flat layout; errors are sticky like JReader's. */
export class FlatReader {
  p: usize;
  start: usize;
  end: usize;
  err: string | null = null;

  constructor(p: usize, n: i32) { this.p = p; this.start = p; this.end = p + <usize>n; }

  fail(what: string): void {
    if (this.err == null) this.err = what + " at offset " + (this.p - this.start).toString();
    this.p = this.end;
  }

  u8(): u8 {
    if (this.p >= this.end) { this.fail("truncated"); return 0; }
    const v = load<u8>(this.p);
    this.p++;
    return v;
  }

  u32(): u32 {
    if (this.end - this.p < 4) { this.fail("truncated"); return 0; }
    const v = load<u32>(this.p);
    this.p += 4;
    return v;
  }

  i64(): i64 {
    if (this.end - this.p < 8) { this.fail("truncated"); return 0; }
    const v = load<i64>(this.p);
    this.p += 8;
    return v;
  }

  /** Points f at the next string. */
  field(f: Field): void {
    const n = this.u32();
    if (<usize>n > this.end - this.p) { this.fail("string longer than the input"); f.clear(); return; }
    f.view(this.p, <i32>n);
    this.p += <usize>n;
  }

  /** The next string, decoded. */
  str(): string {
    const n = this.u32();
    if (<usize>n > this.end - this.p) { this.fail("string longer than the input"); return ""; }
    const s = String.UTF8.decodeUnsafe(this.p, <usize>n);
    this.p += <usize>n;
    return s;
  }

  /** Skips the next string. */
  skipStr(): void {
    const n = this.u32();
    if (<usize>n > this.end - this.p) { this.fail("string longer than the input"); return; }
    this.p += <usize>n;
  }

  /** A u32 count and that many strings. */
  strs(): string[] {
    const n = this.u32();
    if (<usize>n > (this.end - this.p) / 4) { this.fail("list count larger than the input"); return []; }
    const out = new Array<string>(<i32>n);
    for (let i = 0; i < <i32>n; i++) out[i] = this.str();
    return out;
  }

  done(): string | null {
    if (this.err == null && this.p != this.end) this.fail("trailing bytes");
    return this.err;
  }
}
