package hook

// The response contract (../shared/fixtures/lumos/README.md, "hookgate's
// response contract"): a plugin returns a typed decision and the gateway
// maps it to the caller's per-kind literals, overridable in gateway.toml
// under [responses.<kind>]. Every reply is JSON {"response": <literal>},
// with "message" added when the plugin gave one; use_204 turns a
// provisioning or deprovisioning success into an empty HTTP 204. A plugin
// error, trap or timeout is answered with the failure literal and
// GenericFailureMessage; the details go to the log and the audit record.

import (
	"encoding/json"
	"net/http"

	"github.com/hookgate/hookgate/sdk/abi"
)

// GenericFailureMessage is the message sent with the failure literal when a
// plugin errors, traps or times out. It deliberately says nothing about the
// cause: details are logged and audited, never sent to the caller.
const GenericFailureMessage = "the access hook could not decide (plugin error); an administrator can find the reason in the hookgate audit log"

// Reply is one mapped HTTP response: Status and, unless it is 204, a JSON
// Body.
type Reply struct {
	Status int
	Body   []byte
	// Literal is the response literal sent, or "204" for an empty 204.
	Literal string
}

// Responder maps outcomes to replies with the per-kind literal table. The
// bodies without a message are encoded once, at construction, so the common
// case does not allocate.
type Responder struct {
	kinds map[string]*kindReplies
}

type kindReplies struct {
	success, failure      string
	successBody, failBody []byte
	use204                bool
}

// NewResponder builds the table from the config's [responses.<kind>]
// (already filled with the defaults by the config loader). Kinds missing
// from responses get the defaults.
func NewResponder(responses map[string]*Responses) *Responder {
	r := &Responder{kinds: map[string]*kindReplies{}}
	for kind, def := range DefaultResponses() {
		c := def
		if o := responses[kind]; o != nil {
			c = *o
			if c.Success == "" {
				c.Success = def.Success
			}
			if c.Failure == "" {
				c.Failure = def.Failure
			}
		}
		r.kinds[kind] = &kindReplies{
			success:     c.Success,
			failure:     c.Failure,
			successBody: encodeReply(c.Success, ""),
			failBody:    encodeReply(c.Failure, ""),
			use204:      c.Use204 && (kind == abi.KindProvisioning || kind == abi.KindDeprovisioning),
		}
	}
	return r
}

type replyBody struct {
	Response string `json:"response"`
	Message  string `json:"message,omitempty"`
}

func encodeReply(literal, msg string) []byte {
	b, _ := json.Marshal(replyBody{Response: literal, Message: msg})
	return b
}

// Literals returns the success and failure literals of kind.
func (r *Responder) Literals(kind string) (success, failure string) {
	k := r.kinds[kind]
	if k == nil {
		return "", ""
	}
	return k.success, k.failure
}

// Reply maps an outcome of kind to the HTTP response. A plugin error
// (out.Err != nil) is a failure with GenericFailureMessage whatever the
// outcome's own message.
func (r *Responder) Reply(kind string, out Outcome) Reply {
	k := r.kinds[kind]
	if k == nil {
		// Dispatch refuses unknown kinds before a plugin runs; this is
		// only reachable through misuse.
		return Reply{Status: http.StatusNotFound, Body: encodeError("unknown hook kind " + kind)}
	}
	switch {
	case out.Err != nil:
		return Reply{Status: http.StatusOK, Body: encodeReply(k.failure, GenericFailureMessage), Literal: k.failure}
	case out.Success && k.use204:
		return Reply{Status: http.StatusNoContent, Literal: "204"}
	case out.Success && out.Message == "":
		return Reply{Status: http.StatusOK, Body: k.successBody, Literal: k.success}
	case out.Success:
		return Reply{Status: http.StatusOK, Body: encodeReply(k.success, out.Message), Literal: k.success}
	case out.Message == "":
		return Reply{Status: http.StatusOK, Body: k.failBody, Literal: k.failure}
	default:
		return Reply{Status: http.StatusOK, Body: encodeReply(k.failure, out.Message), Literal: k.failure}
	}
}

func encodeError(msg string) []byte {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	return b
}
