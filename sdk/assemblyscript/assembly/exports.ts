// The ABI exports (sdk/ABI.md section 2). A plugin's entry file re-exports
// them: `export * from "@hookgate/sdk/assembly/exports";`.
import { ABI_VERSION, alloc, dispatch, dispatchFlat } from "./index";

export function hookgate_abi_version(): i32 { return ABI_VERSION; }
export function hookgate_alloc(size: i32): usize { return alloc(size); }
export function hookgate_call(kp: usize, kn: u32, ip: usize, il: u32): u64 { return dispatch(kp, kn, ip, il); }
export function hookgate_call_flat(kp: usize, kn: u32, ip: usize, il: u32): u64 { return dispatchFlat(kp, kn, ip, il); }
