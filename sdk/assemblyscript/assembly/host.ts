// The host imports of ABI 1.1 (sdk/ABI.md section 4), module "hookgate".
// Every import is declared here, but AssemblyScript only emits the ones a
// plugin's code reaches, so a plugin that never calls kv.incr does not import
// kv_incr and loads on hosts older than ABI 1.1.

@external("hookgate", "log")
export declare function host_log(level: i32, ptr: usize, len: u32): void;
@external("hookgate", "result_len")
export declare function host_result_len(): i32;
@external("hookgate", "result_read")
export declare function host_result_read(ptr: usize, len: u32): i32;
@external("hookgate", "config_get")
export declare function host_config_get(kp: usize, kn: u32): i32;
@external("hookgate", "kv_get")
export declare function host_kv_get(kp: usize, kn: u32): i32;
@external("hookgate", "kv_set")
export declare function host_kv_set(kp: usize, kn: u32, vp: usize, vn: u32, ttl: i64): i32;
@external("hookgate", "kv_delete")
export declare function host_kv_delete(kp: usize, kn: u32): i32;
@external("hookgate", "kv_incr")
export declare function host_kv_incr(kp: usize, kn: u32, delta: i64, ttl: i64): i32;
@external("hookgate", "kv_compare_and_set")
export declare function host_kv_compare_and_set(kp: usize, kn: u32, expect: i32, op: usize, on: u32, vp: usize, vn: u32, ttl: i64): i32;
@external("hookgate", "user_get")
export declare function host_user_get(by: i32, rp: usize, rn: u32): i32;
@external("hookgate", "user_groups")
export declare function host_user_groups(rp: usize, rn: u32): i32;
@external("hookgate", "group_get")
export declare function host_group_get(rp: usize, rn: u32): i32;
@external("hookgate", "group_members")
export declare function host_group_members(rp: usize, rn: u32): i32;
@external("hookgate", "is_member")
export declare function host_is_member(up: usize, un: u32, gp: usize, gn: u32): i32;
@external("hookgate", "http_request")
export declare function host_http_request(rp: usize, rn: u32): i32;
@external("hookgate", "okta_action")
export declare function host_okta_action(rp: usize, rn: u32): i32;
