// Package sdk is the guest-side library for hookgate plugins. A plugin is a
// Go main package compiled to WebAssembly with the standard toolchain:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o myplugin.wasm .
//
// It registers one handler per hook kind it serves, in an init function, and
// uses the helpers here (Config, Log, KV, LookupUser, IsMember, HTTP...) to
// reach the host. Authors never touch pointers or the ABI (sdk/ABI.md):
//
//	package main
//
//	import "github.com/hookgate/hookgate/sdk"
//
//	func main() {}
//
//	func init() {
//		sdk.HandlePreApproval(func(req *sdk.Request) sdk.Decision {
//			ok, err := sdk.IsMember(req.TargetUser.Email, sdk.Config("group"))
//			if err != nil {
//				return sdk.Deny("identity lookup failed: " + err.Error())
//			}
//			if !ok {
//				return sdk.Deny("not on call")
//			}
//			return sdk.Approve("on call")
//		})
//	}
//
// The package imports only the standard library, so building a plugin never
// pulls in the host's dependencies. On other platforms it still compiles (so
// `go vet ./...` works), but every host call returns ErrUnavailable.
package sdk

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hookgate/hookgate/sdk/abi"
)

// ABIVersion is the version of the host/guest contract this SDK implements
// (see sdk/ABI.md). The host refuses plugins built for a version it does not
// know.
const ABIVersion = abi.Version

// ABIMinorVersion is the revision of ABI version 1 this SDK was written
// against: 1.1 added kv_incr and kv_compare_and_set. Minor revisions only
// add imports; a plugin imports one only when it calls it, so it loads on
// any host that has the functions it uses.
const ABIMinorVersion = abi.MinorVersion

// Hook kinds a plugin can handle. The first four are the inline access hooks
// (Lumos contract); KindOktaEvent is an Okta System Log event delivered to an
// [[on_event]] subscriber.
const (
	KindProvisioning      = abi.KindProvisioning
	KindDeprovisioning    = abi.KindDeprovisioning
	KindPreApproval       = abi.KindPreApproval
	KindRequestValidation = abi.KindRequestValidation
	KindOktaEvent         = abi.KindOktaEvent
)

// The payload types are the ABI's own (sdk/abi, which the host imports
// too), so the two sides cannot drift apart.

// Application identifies the app access is requested for.
type Application = abi.Application

// Permission is one permission (role, group, entitlement) in the request.
type Permission = abi.Permission

// TargetUser is the user access is requested for.
type TargetUser = abi.TargetUser

// Request is the body of an inline access hook (the same for all four
// kinds).
type Request = abi.Request

// OktaActor is an Okta System Log actor or target.
type OktaActor = abi.OktaActor

// OktaOutcome is an Okta event's outcome.
type OktaOutcome = abi.OktaOutcome

// OktaEvent is one Okta System Log event (the LogEvent object), as delivered
// to event plugins; Targets(typ) returns its targets of one Okta type.
type OktaEvent = abi.OktaEvent

// Decision is a handler's answer. The gateway maps it to the caller's wire
// literals (PROVISIONED_USER, APPROVED, ...); plugins never write those.
// Message is shown to the requester where the caller supports it and is
// always logged and audited.
type Decision = abi.Decision

// Success is a successful provisioning, deprovisioning or event handling.
func Success(msg string) Decision { return Decision{Success: true, Message: msg} }

// Failure is an unsuccessful outcome (nothing provisioned, event to retry).
func Failure(msg string) Decision { return Decision{Success: false, Message: msg} }

// Approve pre-approves a request (pre_approval).
func Approve(msg string) Decision { return Success(msg) }

// Deny declines pre-approval; the request goes through the normal approval
// flow.
func Deny(msg string) Decision { return Failure(msg) }

// Valid accepts a request (request_validation).
func Valid(msg string) Decision { return Success(msg) }

// Invalid rejects a request; msg tells the requester what to fix.
func Invalid(msg string) Decision { return Failure(msg) }

// handler turns one input document into one output document.
type handler func(in []byte) ([]byte, error)

var handlers = map[string]handler{}

// flatHandlers are the inline hook kinds' handlers for flat input
// (hookgate_call_flat).
var flatHandlers = map[string]handler{}

// outScratch is reused for output documents: the ABI lets the guest keep
// one output alive until the next call.
var outScratch = make([]byte, 0, 512)

// handleRequest registers fn for kind, for JSON and for flat input.
func handleRequest(kind string, fn func(*Request) Decision) {
	handlers[kind] = func(in []byte) ([]byte, error) {
		req, err := decodeRequest(in)
		if err != nil {
			return nil, fmt.Errorf("decode request: %w", err)
		}
		return encodeDecision(outScratch[:0], fn(req)), nil
	}
	flatHandlers[kind] = func(in []byte) ([]byte, error) {
		req, err := decodeFlatRequest(in)
		if err != nil {
			return nil, err
		}
		return encodeDecision(outScratch[:0], fn(req)), nil
	}
}

// HandleProvisioning registers fn for the provisioning hook. Call it from
// init; a later registration for the same kind replaces an earlier one.
func HandleProvisioning(fn func(*Request) Decision) {
	handleRequest(KindProvisioning, fn)
}

// HandleDeprovisioning registers fn for the deprovisioning hook.
func HandleDeprovisioning(fn func(*Request) Decision) {
	handleRequest(KindDeprovisioning, fn)
}

// HandlePreApproval registers fn for the pre_approval hook.
func HandlePreApproval(fn func(*Request) Decision) {
	handleRequest(KindPreApproval, fn)
}

// HandleRequestValidation registers fn for the request_validation hook.
func HandleRequestValidation(fn func(*Request) Decision) {
	handleRequest(KindRequestValidation, fn)
}

// HandleOktaEvent registers fn for Okta events routed to this plugin by
// [[on_event]]. A Failure decision makes the gateway retry the event later.
func HandleOktaEvent(fn func(*OktaEvent) Decision) {
	handlers[KindOktaEvent] = func(in []byte) ([]byte, error) {
		ev, err := decodeOktaEvent(in)
		if err != nil {
			return nil, fmt.Errorf("decode okta event: %w", err)
		}
		return encodeDecision(outScratch[:0], fn(ev)), nil
	}
}

// dispatch runs the handler registered for kind. Its only caller is the
// wasip1 export in abi_wasip1_wasm.go, hence the lint directive for host builds.
//
//lint:ignore U1000 called from the wasip1-only ABI exports
func dispatch(kind string, in []byte) []byte {
	return dispatchIn(handlers, kind, in)
}

// dispatchFlat is dispatch for hookgate_call_flat.
//
//lint:ignore U1000 called from the wasip1-only ABI exports
func dispatchFlat(kind string, in []byte) []byte {
	return dispatchIn(flatHandlers, kind, in)
}

func dispatchIn(handlers map[string]handler, kind string, in []byte) []byte {
	h, ok := handlers[kind]
	if !ok {
		kinds := make([]string, 0, len(handlers))
		for k := range handlers {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		return errorOutput(abi.GuestNoHandler, fmt.Sprintf("plugin has no handler for kind %q (it handles: %s)", kind, strings.Join(kinds, ", ")))
	}
	out, err := h(in)
	if err != nil {
		return errorOutput(abi.GuestBadInput, err.Error())
	}
	return out
}
