;; Sleeps 1 s through WASI poll_oneoff (one relative clock subscription at
;; offset 128, its event at 192, the event count at 240), then answers.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\22success\22:true}")
  (func (export "hookgate_abi_version") (result i32) (i32.const 1))
  (func (export "hookgate_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hookgate_call") (param i32 i32 i32 i32) (result i64)
    (i64.store (i32.const 128) (i64.const 1))          ;; userdata
    (i32.store8 (i32.const 136) (i32.const 0))         ;; tag: clock
    (i32.store (i32.const 144) (i32.const 1))          ;; clock id: monotonic
    (i64.store (i32.const 152) (i64.const 1000000000)) ;; timeout: 1 s
    (i64.store (i32.const 160) (i64.const 0))          ;; precision
    (i32.store16 (i32.const 168) (i32.const 0))        ;; flags: relative
    (drop (call $poll_oneoff (i32.const 128) (i32.const 192) (i32.const 1) (i32.const 240)))
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 16))))
