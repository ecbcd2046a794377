// Small text helpers plugins commonly need (no allocation beyond the result).
import { ByteBuf } from "./buf";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const scratch = new ByteBuf(256);
const outb = new ByteBuf(256);

/** Standard base64 (with padding) of s's UTF-8 bytes, e.g. for Basic auth. */
export function base64Encode(s: string): string {
  const src = scratch.reset().str(s);
  const o = outb.reset();
  const n = src.len;
  const a = changetype<usize>(B64);
  for (let i = 0; i < n; i += 3) {
    const b0 = <u32>load<u8>(src.ptr + <usize>i);
    const b1 = i + 1 < n ? <u32>load<u8>(src.ptr + <usize>i + 1) : 0;
    const b2 = i + 2 < n ? <u32>load<u8>(src.ptr + <usize>i + 2) : 0;
    const v = (b0 << 16) | (b1 << 8) | b2;
    o.byte(<u8>load<u16>(a + (<usize>((v >> 18) & 63) << 1)));
    o.byte(<u8>load<u16>(a + (<usize>((v >> 12) & 63) << 1)));
    o.byte(i + 1 < n ? <u8>load<u16>(a + (<usize>((v >> 6) & 63) << 1)) : 0x3d);
    o.byte(i + 2 < n ? <u8>load<u16>(a + (<usize>(v & 63) << 1)) : 0x3d);
  }
  return o.toString();
}

/** Escapes s for a URL query value like Go's url.QueryEscape (space as
 * "+", unreserved characters kept, every other byte as %XX). */
export function queryEscape(s: string): string {
  const src = scratch.reset().str(s);
  const o = outb.reset();
  for (let i = 0; i < src.len; i++) {
    const c = load<u8>(src.ptr + <usize>i);
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e || c == 0x7e) o.byte(c);
    else if (c == 0x20) o.byte(0x2b);
    else o.byte(0x25).byte(hexU(c >> 4)).byte(hexU(c & 15));
  }
  return o.toString();
}

/** s as a Go %q-style quoted string (for messages matching Go plugins). */
export function quote(s: string): string {
  return outb.reset().jsonStr(s).toString();
}

@inline function hexU(d: u8): u8 { return d < 10 ? 0x30 + d : 0x37 + d; }

/** A JSON reader over a string's UTF-8 bytes (e.g. an HTTP response body). */
export function jsonBytes(s: string): ByteBuf { return new ByteBuf(String.UTF8.byteLength(s) + 1).str(s); }
