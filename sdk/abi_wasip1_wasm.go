package sdk

// The wasm side of ABI v1 (sdk/ABI.md): the host imports in module
// "hookgate" and the three hookgate_* exports.

import "unsafe"

//go:wasmimport hookgate log
func hostLog(level int32, ptr unsafe.Pointer, n uint32)

//go:wasmimport hookgate result_len
func hostResultLen() int32

//go:wasmimport hookgate result_read
func hostResultRead(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport hookgate config_get
func hostConfigGet(kp unsafe.Pointer, kn uint32) int32

//go:wasmimport hookgate kv_get
func hostKVGet(kp unsafe.Pointer, kn uint32) int32

//go:wasmimport hookgate kv_set
func hostKVSet(kp unsafe.Pointer, kn uint32, vp unsafe.Pointer, vn uint32, ttlSeconds int64) int32

//go:wasmimport hookgate kv_delete
func hostKVDelete(kp unsafe.Pointer, kn uint32) int32

// kv_incr and kv_compare_and_set (ABI 1.1) are imported only by plugins
// that call KV.Incr, KV.CompareAndSet or KV.SetIfAbsent, like okta_action.
//
//go:wasmimport hookgate kv_incr
func hostKVIncr(kp unsafe.Pointer, kn uint32, delta int64, ttlSeconds int64) int32

//go:wasmimport hookgate kv_compare_and_set
func hostKVCompareAndSet(kp unsafe.Pointer, kn uint32, expect int32, op unsafe.Pointer, on uint32, vp unsafe.Pointer, vn uint32, ttlSeconds int64) int32

//go:wasmimport hookgate user_get
func hostUserGet(by int32, rp unsafe.Pointer, rn uint32) int32

//go:wasmimport hookgate user_groups
func hostUserGroups(rp unsafe.Pointer, rn uint32) int32

//go:wasmimport hookgate group_get
func hostGroupGet(rp unsafe.Pointer, rn uint32) int32

//go:wasmimport hookgate group_members
func hostGroupMembers(rp unsafe.Pointer, rn uint32) int32

//go:wasmimport hookgate is_member
func hostIsMember(up unsafe.Pointer, un uint32, gp unsafe.Pointer, gn uint32) int32

//go:wasmimport hookgate http_request
func hostHTTPRequest(rp unsafe.Pointer, rn uint32) int32

// okta_action is imported only by plugins that call an Okta helper (the Go
// linker drops unreferenced imports), so other plugins still load on hosts
// older than the import.
//
//go:wasmimport hookgate okta_action
func hostOktaAction(rp unsafe.Pointer, rn uint32) int32

func sp(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

func bp(b []byte) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))
}

func rawLog(level int32, msg string) { p, n := sp(msg); hostLog(level, p, n) }

func rawResultLen() int32 { return hostResultLen() }

func rawResultRead(buf []byte) int32 { p, n := bp(buf); return hostResultRead(p, n) }

func rawConfigGet(key string) int32 { p, n := sp(key); return hostConfigGet(p, n) }

func rawKVGet(key string) int32 { p, n := sp(key); return hostKVGet(p, n) }

func rawKVSet(key string, val []byte, ttl int64) int32 {
	p, n := sp(key)
	vp, vn := bp(val)
	return hostKVSet(p, n, vp, vn, ttl)
}

func rawKVDelete(key string) int32 { p, n := sp(key); return hostKVDelete(p, n) }

func rawKVIncr(key string, delta, ttl int64) int32 {
	p, n := sp(key)
	return hostKVIncr(p, n, delta, ttl)
}

func rawKVCompareAndSet(key string, expect int32, old, val []byte, ttl int64) int32 {
	p, n := sp(key)
	op, on := bp(old)
	vp, vn := bp(val)
	return hostKVCompareAndSet(p, n, expect, op, on, vp, vn, ttl)
}

func rawUserGet(by int32, ref string) int32 { p, n := sp(ref); return hostUserGet(by, p, n) }

func rawUserGroups(ref string) int32 { p, n := sp(ref); return hostUserGroups(p, n) }

func rawGroupGet(ref string) int32 { p, n := sp(ref); return hostGroupGet(p, n) }

func rawGroupMembers(ref string) int32 { p, n := sp(ref); return hostGroupMembers(p, n) }

func rawIsMember(user, group string) int32 {
	up, un := sp(user)
	gp, gn := sp(group)
	return hostIsMember(up, un, gp, gn)
}

func rawHTTPRequest(req []byte) int32 { p, n := bp(req); return hostHTTPRequest(p, n) }

func rawOktaAction(req []byte) int32 { p, n := bp(req); return hostOktaAction(p, n) }

//go:wasmexport hookgate_abi_version
func exportABIVersion() int32 { return ABIVersion }

// inBuf holds the host's input for the current call (ABI: alive until
// hookgate_call returns); outBuf holds the last output (alive until the next
// call). Go's GC does not move objects, so their addresses are stable.
var inBuf, outBuf []byte

//go:wasmexport hookgate_alloc
func exportAlloc(size int32) unsafe.Pointer {
	if size < 1 {
		size = 1
	}
	if cap(inBuf) < int(size) {
		inBuf = make([]byte, size)
	}
	inBuf = inBuf[:size]
	return unsafe.Pointer(&inBuf[0])
}

//go:wasmexport hookgate_call
func exportCall(kindPtr unsafe.Pointer, kindLen uint32, inPtr unsafe.Pointer, inLen uint32) uint64 {
	kind := unsafe.String((*byte)(kindPtr), kindLen)
	in := unsafe.Slice((*byte)(inPtr), inLen)
	return output(dispatch(kind, in))
}

// hookgate_call_flat is hookgate_call with the inline hook request in the
// flat layout (ABI.md, "Flat input"); the host uses it when it is exported.
//
//go:wasmexport hookgate_call_flat
func exportCallFlat(kindPtr unsafe.Pointer, kindLen uint32, inPtr unsafe.Pointer, inLen uint32) uint64 {
	kind := unsafe.String((*byte)(kindPtr), kindLen)
	in := unsafe.Slice((*byte)(inPtr), inLen)
	return output(dispatchFlat(kind, in))
}

// output keeps out alive until the next call and packs its location.
func output(out []byte) uint64 {
	outBuf = out
	if len(outBuf) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&outBuf[0])))<<32 | uint64(len(outBuf))
}
