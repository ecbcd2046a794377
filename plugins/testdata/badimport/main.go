// Command badimport imports a host function this host does not provide
// (okta_action, which it imported before, is provided now).
package main

import (
	"unsafe"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

//go:wasmimport hookgate role_assign
func roleAssign(p unsafe.Pointer, n uint32) int32

func init() {
	sdk.HandleProvisioning(func(*sdk.Request) sdk.Decision {
		roleAssign(nil, 0)
		return sdk.Success("")
	})
}
