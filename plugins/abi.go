package plugins

import (
	"github.com/tetratelabs/wazero/api"
)

// ABIVersion is the host/guest contract version this host implements (see
// sdk/ABI.md). Load refuses modules reporting any other version.
const ABIVersion = 1

// ABIMinorVersion is the revision of version 1 this host implements (1.1:
// kv_incr, kv_compare_and_set). Revisions only add imports, so a module
// built for 1.0 loads unchanged.
const ABIMinorVersion = 1

// Names fixed by ABI v1.
const (
	hostModuleName = "hookgate"
	wasiModuleName = "wasi_snapshot_preview1"
	exportVersion  = "hookgate_abi_version"
	exportAlloc    = "hookgate_alloc"
	exportCall     = "hookgate_call"
	startFunction  = "_initialize"
	// exportCallFlat is optional: hookgate_call for the inline hook kinds
	// with the request in the flat layout (flat.go, ABI.md "Flat input").
	exportCallFlat = "hookgate_call_flat"
)

// Error codes host functions return (negative i32). Each failure also leaves
// a UTF-8 message as the pending result (result_len/result_read).
const (
	codeNotFound    int32 = -1
	codeCapability  int32 = -2
	codeInvalid     int32 = -3
	codeDenied      int32 = -4
	codeTooLarge    int32 = -5
	codeUnavailable int32 = -6
	codeTimeout     int32 = -7
)

// user_get selectors.
const (
	byAny   = 0
	byID    = 1
	byLogin = 2
	byEmail = 3
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// exportSigs are the required guest exports and their signatures.
var exportSigs = map[string]struct{ params, results []api.ValueType }{
	exportVersion: {nil, []api.ValueType{i32}},
	exportAlloc:   {[]api.ValueType{i32}, []api.ValueType{i32}},
	exportCall:    {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i64}},
}

// reservedImports are hookgate imports a later ABI v1 host may provide; a
// module importing one fails to load on this host with a message saying so.
// (okta_action was reserved here until this host implemented it.)
var reservedImports = map[string]string{}
