package plugins

import (
	"github.com/tetratelabs/wazero/api"

	"github.com/hookgate/hookgate/sdk/abi"
)

// ABIVersion is the host/guest contract version this host implements (see
// sdk/ABI.md). Load refuses modules reporting any other version.
const ABIVersion = abi.Version

// ABIMinorVersion is the revision of version 1 this host implements (1.1:
// kv_incr, kv_compare_and_set). Revisions only add imports, so a module
// built for 1.0 loads unchanged.
const ABIMinorVersion = abi.MinorVersion

// Names fixed by ABI v1 (sdk/abi is their definition).
const (
	hostModuleName = abi.HostModule
	wasiModuleName = abi.WASIModule
	exportVersion  = abi.ExportVersion
	exportAlloc    = abi.ExportAlloc
	exportCall     = abi.ExportCall
	startFunction  = abi.StartFunction
	// exportCallFlat is optional: hookgate_call for the inline hook kinds
	// with the request in the flat layout (flat.go, ABI.md "Flat input").
	exportCallFlat = abi.ExportCallFlat
)

// Error codes host functions return (negative i32). Each failure also leaves
// a UTF-8 message as the pending result (result_len/result_read).
const (
	codeNotFound    = abi.CodeNotFound
	codeCapability  = abi.CodeCapability
	codeInvalid     = abi.CodeInvalid
	codeDenied      = abi.CodeDenied
	codeTooLarge    = abi.CodeTooLarge
	codeUnavailable = abi.CodeUnavailable
	codeTimeout     = abi.CodeTimeout
)

// user_get selectors.
const (
	byAny   = abi.UserByAny
	byID    = abi.UserByID
	byLogin = abi.UserByLogin
	byEmail = abi.UserByEmail
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
