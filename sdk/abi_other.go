//go:build !(wasip1 && wasm)

package sdk

// Outside WebAssembly there is no host: every call fails with
// ErrUnavailable, so plugin code still compiles and vets on any platform.

const notInHost = "not running inside the hookgate host (build with GOOS=wasip1 GOARCH=wasm)"

func rawLog(level int32, msg string) {}

func rawResultLen() int32 { return int32(len(notInHost)) }

func rawResultRead(buf []byte) int32 { return int32(copy(buf, notInHost)) }

func rawConfigGet(key string) int32 { return codeUnavailable }

func rawKVGet(key string) int32 { return codeUnavailable }

func rawKVSet(key string, val []byte, ttl int64) int32 { return codeUnavailable }

func rawKVDelete(key string) int32 { return codeUnavailable }

func rawKVIncr(key string, delta, ttl int64) int32 { return codeUnavailable }

func rawKVCompareAndSet(key string, expect int32, old, val []byte, ttl int64) int32 {
	return codeUnavailable
}

func rawUserGet(by int32, ref string) int32 { return codeUnavailable }

func rawUserGroups(ref string) int32 { return codeUnavailable }

func rawGroupGet(ref string) int32 { return codeUnavailable }

func rawGroupMembers(ref string) int32 { return codeUnavailable }

func rawIsMember(user, group string) int32 { return codeUnavailable }

func rawHTTPRequest(req []byte) int32 { return codeUnavailable }

func rawOktaAction(req []byte) int32 { return codeUnavailable }
