;; table.grow by 2^21 funcref entries (16 MiB of host memory), 32 times;
;; answers success if one of them failed (returned -1), failure if all
;; succeeded (512 MiB of table).
(module
  (memory (export "memory") 1)
  (table $t 0 funcref)
  (data (i32.const 64) "{\22success\22:true}")
  (data (i32.const 96) "{\22success\22:false}")
  (func (export "hookgate_abi_version") (result i32) (i32.const 1))
  (func (export "hookgate_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hookgate_call") (param i32 i32 i32 i32) (result i64)
    (local $i i32) (local $refused i32)
    (loop $again
      (if (i32.eq (table.grow $t (ref.null func) (i32.const 0x200000)) (i32.const -1))
        (then (local.set $refused (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 32))))
    (if (result i64) (local.get $refused)
      (then (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 16)))
      (else (i64.or (i64.shl (i64.const 96) (i64.const 32)) (i64.const 17))))))
