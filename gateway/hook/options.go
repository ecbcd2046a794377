package hook

import (
	"time"

	"github.com/hookgate/hookgate/sdk/abi"
)

// This file holds the option structs the hook decision reads; gateway/config
// decodes gateway.toml into them (config.Route and config.Responses are
// aliases of these) and the composition root (package gateway) hands them
// to NewDispatcher, LoadPlugins and StartupDeciders.

// DefaultHookTimeout is hooks.timeout's default, and MaxHookTimeout its
// ceiling (Lumos waits 15 s for an answer).
const (
	DefaultHookTimeout = 10 * time.Second
	MaxHookTimeout     = 14 * time.Second
)

// Route is one [[route]] table: it sends one hook kind (narrowed by app,
// instance and permission) to a plugin. Without AppID it is the kind's
// default route.
type Route struct {
	Kind       string `toml:"kind"`
	AppID      string `toml:"app_id"`
	InstanceID string `toml:"instance_id"`
	Permission string `toml:"permission"`
	Plugin     string `toml:"plugin"`
}

// Responses is one [responses.<kind>] table: it maps a plugin decision to
// the caller's literals (see the Lumos response contract).
type Responses struct {
	Success string `toml:"success"`
	Failure string `toml:"failure"`
	// Use204 answers success with an empty 204 (provisioning and
	// deprovisioning only).
	Use204 bool `toml:"use_204"`
}

// DefaultResponses is the response contract table of
// ../shared/fixtures/lumos/README.md. Only provisioning's literals are
// documented by Lumos; the others are unverified defaults, overridable in
// [responses.<kind>].
func DefaultResponses() map[string]Responses {
	return map[string]Responses{
		abi.KindProvisioning:      {Success: "PROVISIONED_USER", Failure: "NO_PROVISIONING_ACTION"},
		abi.KindDeprovisioning:    {Success: "DEPROVISIONED_USER", Failure: "NO_DEPROVISIONING_ACTION"},
		abi.KindPreApproval:       {Success: "APPROVED", Failure: "NOT_APPROVED"},
		abi.KindRequestValidation: {Success: "VALID", Failure: "INVALID"},
	}
}
