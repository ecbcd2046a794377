package sdk

import (
	"errors"
	"fmt"

	"github.com/hookgate/hookgate/sdk/abi"
)

// Error codes a host function returns (negative i32), as listed in ABI.md.
const (
	codeNotFound    = abi.CodeNotFound
	codeCapability  = abi.CodeCapability
	codeInvalid     = abi.CodeInvalid
	codeDenied      = abi.CodeDenied
	codeTooLarge    = abi.CodeTooLarge
	codeUnavailable = abi.CodeUnavailable
	codeTimeout     = abi.CodeTimeout
)

// Sentinel errors for errors.Is on a *HostError, one per abi.Code* (sdk/ABI.md
// section 5).
var (
	// ErrNotFound: no such config key, KV key, user or group.
	ErrNotFound = errors.New("not found")
	// ErrCapability: the plugin's [[plugin]] table does not grant the
	// capability this call needs.
	ErrCapability = errors.New("capability not granted")
	// ErrInvalid: the host rejected an argument (bad JSON, empty key...).
	ErrInvalid = errors.New("invalid argument")
	// ErrDenied: an HTTP request to a host outside allowed_hosts (or a
	// redirect leaving them).
	ErrDenied = errors.New("denied")
	// ErrTooLarge: a size cap was exceeded (KV value, HTTP body).
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable: the backing service failed or is not configured, or
	// the code is not running inside hookgate.
	ErrUnavailable = errors.New("unavailable")
	// ErrTimeout: an HTTP request timed out.
	ErrTimeout = errors.New("timeout")
)

// HostError is a failed host call: the ABI function, its error code and the
// host's message (which names the capability for ErrCapability).
type HostError struct {
	Op      string
	Code    int32
	Message string
}

// Error formats the failure as "hookgate <op>: <message>".
func (e *HostError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("hookgate %s: error code %d", e.Op, e.Code)
	}
	return fmt.Sprintf("hookgate %s: %s", e.Op, e.Message)
}

// Is matches the sentinel for the error code.
func (e *HostError) Is(target error) bool { return codeErr(e.Code) == target }

func codeErr(code int32) error {
	switch code {
	case codeNotFound:
		return ErrNotFound
	case codeCapability:
		return ErrCapability
	case codeInvalid:
		return ErrInvalid
	case codeDenied:
		return ErrDenied
	case codeTooLarge:
		return ErrTooLarge
	case codeUnavailable:
		return ErrUnavailable
	case codeTimeout:
		return ErrTimeout
	}
	return nil
}
