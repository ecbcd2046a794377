// Command badimport imports a host function this host does not provide.
package main

import (
	"unsafe"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

//go:wasmimport hookgate okta_action
func oktaAction(p unsafe.Pointer, n uint32) int32

func init() {
	sdk.HandleProvisioning(func(*sdk.Request) sdk.Decision {
		oktaAction(nil, 0)
		return sdk.Success("")
	})
}
