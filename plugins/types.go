package plugins

import "github.com/hookgate/hookgate/sdk/abi"

// KindOktaEvent is the kind of a call carrying one Okta System Log event to
// an [[on_event]] plugin. The inline hook kinds are abi.HookKinds.
const KindOktaEvent = abi.KindOktaEvent

// The documents plugins and the host exchange are sdk/abi's, which the
// guest SDK imports too (without pulling wazero, fasthttp or Badger into
// plugin builds); sdk/ABI.md is the contract.

// Decision is every kind's output: success or failure plus an optional
// message. The gateway maps it to the caller's literals; for
// KindOktaEvent a failure means "retry later".
type Decision = abi.Decision

// wireOutput is the guest's output document: a Decision, or an error.
type wireOutput = abi.Output

// wireHTTP is the JSON of http_request's request and response (ABI.md).
type wireHTTP = abi.HTTPMessage

// groupSummary is a group as user_groups returns it.
type groupSummary = abi.GroupSummary
