package plugins

import "errors"

// Errors a Call (or Load) wraps; test them with errors.Is. The wrapping error
// names the plugin, the kind and the detail (for logs and the audit record;
// callers of the gateway see only a generic message).
var (
	// ErrTimeout: the call exceeded the plugin's timeout (or the caller's
	// deadline, also while waiting for a free instance). The instance was
	// discarded and is being replaced.
	ErrTimeout = errors.New("plugin timed out")
	// ErrTrap: the guest trapped, panicked or exited. The instance was
	// discarded and is being replaced; the guest's stderr is in the logs.
	ErrTrap = errors.New("plugin crashed")
	// ErrMemory: the guest ran out of memory at its memory_limit. The
	// instance was discarded and is being replaced.
	ErrMemory = errors.New("plugin exceeded its memory limit")
	// ErrOutputTooLarge: the guest returned more than max_output_bytes.
	ErrOutputTooLarge = errors.New("plugin output too large")
	// ErrBadOutput: the guest's output is not the ABI's JSON document (or
	// its pointers are out of range).
	ErrBadOutput = errors.New("plugin output invalid")
	// ErrNoHandler: the plugin does not handle this kind.
	ErrNoHandler = errors.New("plugin has no handler for this kind")
	// ErrGuest: the guest reported an error of its own (for example it
	// could not decode its input).
	ErrGuest = errors.New("plugin reported an error")
	// ErrCanceled: the caller's context was canceled before the call
	// finished.
	ErrCanceled = errors.New("plugin call canceled")
	// ErrClosed: the plugin (or the host) was closed.
	ErrClosed = errors.New("plugin closed")

	// ErrABIVersion (Load): the module implements an ABI version this host
	// does not know.
	ErrABIVersion = errors.New("unsupported plugin ABI version")
	// ErrBadModule (Load): the file is not a usable hookgate plugin
	// (invalid wasm, missing exports, unknown imports, failing start-up).
	ErrBadModule = errors.New("not a usable hookgate plugin")
)

// noHandlerError is the guest's no_handler message ("plugin has no handler
// for kind X (it handles: Y)"); it is an ErrNoHandler without repeating
// ErrNoHandler's own text in front of it.
type noHandlerError string

func (e noHandlerError) Error() string {
	if e == "" {
		return ErrNoHandler.Error()
	}
	return string(e)
}

// Is makes errors.Is(err, ErrNoHandler) true.
func (e noHandlerError) Is(target error) bool { return target == ErrNoHandler }
