package sdk

import (
	"errors"
	"fmt"
)

// Error codes a host function returns (negative i32), as listed in ABI.md.
const (
	codeNotFound    = -1
	codeCapability  = -2
	codeInvalid     = -3
	codeDenied      = -4
	codeTooLarge    = -5
	codeUnavailable = -6
	codeTimeout     = -7
)

// Sentinel errors for errors.Is on a *HostError. The codes mirror the host's
// (plugins/errors.go and sdk/ABI.md section 5); the SDK cannot import the
// host package.
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
