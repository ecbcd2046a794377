// Growing UTF-8 byte buffers, reused from call to call: once a plugin is
// warm, encoding an argument or writing the output allocates nothing.

/** A growable byte buffer over one ArrayBuffer (AssemblyScript's collector
 * never moves objects, so `ptr` is stable until the buffer grows). */
export class ByteBuf {
  data: ArrayBuffer;
  ptr: usize;
  len: i32 = 0;

  constructor(cap: i32 = 256) {
    this.data = new ArrayBuffer(cap);
    this.ptr = changetype<usize>(this.data);
  }

  @inline get cap(): i32 { return this.data.byteLength; }

  reset(): ByteBuf { this.len = 0; return this; }

  /** Makes room for n more bytes. */
  reserve(n: i32): void {
    const need = this.len + n;
    if (need <= this.cap) return;
    let c = this.cap * 2;
    if (c < need) c = need;
    const d = new ArrayBuffer(c);
    memory.copy(changetype<usize>(d), this.ptr, <usize>this.len);
    this.data = d;
    this.ptr = changetype<usize>(d);
  }

  byte(b: u8): ByteBuf {
    this.reserve(1);
    store<u8>(this.ptr + <usize>this.len, b);
    this.len++;
    return this;
  }

  bytes(p: usize, n: i32): ByteBuf {
    this.reserve(n);
    memory.copy(this.ptr + <usize>this.len, p, <usize>n);
    this.len += n;
    return this;
  }

  /** Appends s as UTF-8. */
  str(s: string): ByteBuf {
    const n = String.UTF8.byteLength(s);
    this.reserve(n);
    this.len += <i32>String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, this.ptr + <usize>this.len);
    return this;
  }

  /** Appends the decimal text of v. */
  int(v: i64): ByteBuf {
    return this.str(v.toString());
  }

  /** Appends s as a JSON string literal (quoted, escaped). */
  jsonStr(s: string): ByteBuf {
    this.byte(0x22);
    const sp = changetype<usize>(s);
    const n = s.length;
    let run = 0;
    for (let i = 0; i < n; i++) {
      const c = load<u16>(sp + (<usize>i << 1));
      if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
      if (i > run) this.utf16(sp, run, i);
      run = i + 1;
      this.byte(0x5c);
      if (c == 0x22 || c == 0x5c) { this.byte(<u8>c); continue; }
      if (c == 0x0a) { this.byte(0x6e); continue; }
      if (c == 0x0d) { this.byte(0x72); continue; }
      if (c == 0x09) { this.byte(0x74); continue; }
      this.byte(0x75).byte(0x30).byte(0x30).byte(hex(c >> 4)).byte(hex(c & 15));
    }
    if (n > run) this.utf16(sp, run, n);
    return this.byte(0x22);
  }

  private utf16(sp: usize, from: i32, to: i32): void {
    const p = sp + (<usize>from << 1);
    const units = to - from;
    this.reserve(units * 3);
    this.len += <i32>String.UTF8.encodeUnsafe(p, units, this.ptr + <usize>this.len);
  }

  /** Appends a raw ASCII literal. */
  lit(s: string): ByteBuf { return this.str(s); }

  toString(): string { return String.UTF8.decodeUnsafe(this.ptr, <usize>this.len); }
}

@inline function hex(d: u16): u8 { return <u8>(d < 10 ? 0x30 + d : 0x57 + d); }

/** Scratch for encoding host call arguments (one call at a time). */
export const argA = new ByteBuf(256);
export const argB = new ByteBuf(256);
/** The last host result, copied out with result_read. */
export const resultBuf = new ByteBuf(1024);
