// Command badabi claims an ABI version the host does not know.
package main

import "unsafe"

func main() {}

var buf [64]byte

//go:wasmexport hookgate_abi_version
func version() int32 { return 99 }

//go:wasmexport hookgate_alloc
func alloc(size int32) unsafe.Pointer { return unsafe.Pointer(&buf[0]) }

//go:wasmexport hookgate_call
func call(kp unsafe.Pointer, kn uint32, ip unsafe.Pointer, in uint32) uint64 { return 0 }
