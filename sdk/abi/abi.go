// Package abi is the one Go definition of hookgate's plugin ABI (sdk/ABI.md):
// the names of the host module, imports and exports, the hook kinds, the
// host functions' error codes and selectors, the Okta action names, the
// request and decision documents and the flat layouts. The host (plugins,
// gateway) and the guest SDK (sdk) both import it, so the two sides cannot
// drift apart.
//
// It imports only the standard library: a plugin build never pulls in the
// host's dependencies.
package abi

// Version is the ABI version (hookgate_abi_version's result). A host
// refuses modules reporting another version.
const Version = 1

// MinorVersion is the revision of version 1 (1.1: kv_incr,
// kv_compare_and_set). Revisions only add imports, so a module built for
// 1.0 loads unchanged.
const MinorVersion = 1

// Module, import and export names fixed by ABI v1.
const (
	// HostModule is the import module of every host function.
	HostModule = "hookgate"
	// WASIModule is WASI preview 1's module (stdout/stderr, clock, random).
	WASIModule = "wasi_snapshot_preview1"
	// ExportVersion returns Version (no parameters, one i32).
	ExportVersion = "hookgate_abi_version"
	// ExportAlloc allocates guest memory for the host (i32 -> i32).
	ExportAlloc = "hookgate_alloc"
	// ExportCall runs one call (kind ptr/len, input ptr/len -> i64
	// output ptr<<32 | len).
	ExportCall = "hookgate_call"
	// ExportCallFlat is the optional hookgate_call for the inline hook
	// kinds with the request in the flat layout (AppendFlatRequest).
	ExportCallFlat = "hookgate_call_flat"
	// StartFunction is the reactor's initializer the host calls once.
	StartFunction = "_initialize"
)

// Hook kinds: the four inline access hooks (Lumos contract) and an Okta
// System Log event delivered to an [[on_event]] subscriber.
const (
	KindProvisioning      = "provisioning"
	KindDeprovisioning    = "deprovisioning"
	KindPreApproval       = "pre_approval"
	KindRequestValidation = "request_validation"
	KindOktaEvent         = "okta_event"
)

// HookKinds lists the inline hook kinds, in documentation order.
var HookKinds = []string{KindProvisioning, KindDeprovisioning, KindPreApproval, KindRequestValidation}

// IsHookKind reports whether kind is one of HookKinds.
func IsHookKind(kind string) bool {
	switch kind {
	case KindProvisioning, KindDeprovisioning, KindPreApproval, KindRequestValidation:
		return true
	}
	return false
}

// Error codes host functions return (negative i32). Each failure also
// leaves a UTF-8 message as the pending result (result_len/result_read).
const (
	CodeNotFound    int32 = -1
	CodeCapability  int32 = -2
	CodeInvalid     int32 = -3
	CodeDenied      int32 = -4
	CodeTooLarge    int32 = -5
	CodeUnavailable int32 = -6
	CodeTimeout     int32 = -7
)

// user_get selectors, and the flags asking for the flat user layout
// (version 1; with UserGetProfile version 2: the profile, type, timestamps
// and admin roles too). A host before a flag answers CodeInvalid.
const (
	UserByAny      = 0
	UserByID       = 1
	UserByLogin    = 2
	UserByEmail    = 3
	UserGetFlat    = 0x100
	UserGetProfile = 0x200
)

// Error codes of the guest's error output ({"error":{"code":...}}).
const (
	// GuestNoHandler: the plugin has no handler for the call's kind.
	GuestNoHandler = "no_handler"
	// GuestBadInput: the plugin could not decode its input.
	GuestBadInput = "bad_input"
)

// Okta write actions a plugin may ask for with okta_action (capability
// "okta").
const (
	OktaAddUserToGroup       = "add_user_to_group"
	OktaRemoveUserFromGroup  = "remove_user_from_group"
	OktaAssignAppToGroup     = "assign_app_to_group"
	OktaUnassignAppFromGroup = "unassign_app_from_group"
	OktaAssignUserToApp      = "assign_user_to_app"
	OktaUnassignUserFromApp  = "unassign_user_from_app"
)

// OktaActions lists the Okta actions, in documentation order.
var OktaActions = []string{OktaAddUserToGroup, OktaRemoveUserFromGroup, OktaAssignAppToGroup,
	OktaUnassignAppFromGroup, OktaAssignUserToApp, OktaUnassignUserFromApp}
