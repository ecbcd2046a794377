;; An endless loop of 8 MiB memory.copy and 64 Ki-entry table.fill.
(module
  (memory (export "memory") 300)
  (table $t 65536 65536 funcref)
  (data (i32.const 64) "{\22success\22:true}")
  (func (export "hookgate_abi_version") (result i32) (i32.const 1))
  (func (export "hookgate_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "hookgate_call") (param i32 i32 i32 i32) (result i64)
    (loop $forever
      (memory.copy (i32.const 0x10000) (i32.const 0x810000) (i32.const 0x800000))
      (table.fill $t (i32.const 0) (ref.null func) (i32.const 65536))
      (br $forever))
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 16))))
