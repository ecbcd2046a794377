;; A loop whose body is one 16 MiB memory.fill, 2^20 times.
(module
  (memory (export "memory") 300)
  (data (i32.const 64) "{\22success\22:true}")
  (func (export "hookgate_abi_version") (result i32) (i32.const 1))
  (func (export "hookgate_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hookgate_call") (param i32 i32 i32 i32) (result i64)
    (local $i i32)
    (loop $again
      (memory.fill (i32.const 0x10000) (i32.const 0xAB) (i32.const 0x1000000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 0x100000))))
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 16))))
