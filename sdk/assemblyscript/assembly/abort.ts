// The abort handler to compile with: `--use abort=<sdk>/assembly/abort/abort`.
// AssemblyScript's default abort is an import of `env.abort`, which hookgate
// refuses at load. This one logs the message and location at error level,
// then traps, so the host discards the instance and the call fails with the
// reason in its log lines. It allocates nothing (it may run because memory
// ran out): the line is built in a static 1 KiB buffer and truncated.
import { host_log } from "./host";

const LINE_CAP: usize = 1024;
const line = memory.data(1024);

function put(at: usize, s: string): usize {
  // Worst case 3 UTF-8 bytes per UTF-16 unit.
  let units = s.length;
  const room = (LINE_CAP - at) / 3;
  if (<usize>units > room) units = <i32>room;
  return at + String.UTF8.encodeUnsafe(changetype<usize>(s), units, line + at);
}

function putInt(at: usize, v: u32): usize {
  let digits = 1;
  for (let x = v; x >= 10; x /= 10) digits++;
  if (at + <usize>digits > LINE_CAP) return at;
  for (let i = digits - 1, x = v; i >= 0; i--, x /= 10) store<u8>(line + at + <usize>i, <u8>(0x30 + x % 10));
  return at + <usize>digits;
}

export function abort(message: string | null, fileName: string | null, lineNo: u32, column: u32): void {
  let n = put(0, "abort: ");
  n = put(n, message != null ? message : "(no message)");
  if (fileName != null) {
    n = put(n, " at ");
    n = put(n, fileName);
    n = put(n, ":");
    n = putInt(n, lineNo);
    n = put(n, ":");
    n = putInt(n, column);
  }
  host_log(3, line, <u32>n);
  unreachable();
}
