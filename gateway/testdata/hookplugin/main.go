// Command hookplugin is the gateway tests' plugin: it handles all four hook
// kinds and does what the request's request_comment says:
//
//	""                 success, message = config "name" (shows which route ran)
//	"fail:<msg>"       failure with <msg>
//	"ok:<msg>"         success with <msg>
//	"loop"             spins forever (the host's timeout must stop it)
//	"panic"            panics (a trap)
package main

import (
	"strings"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func handle(req *sdk.Request) sdk.Decision {
	c := req.RequestComment
	switch {
	case c == "":
		return sdk.Success(sdk.Config("name"))
	case strings.HasPrefix(c, "fail:"):
		return sdk.Failure(strings.TrimPrefix(c, "fail:"))
	case strings.HasPrefix(c, "ok:"):
		return sdk.Success(strings.TrimPrefix(c, "ok:"))
	case c == "loop":
		n := 0
		for {
			n++
		}
	case c == "panic":
		panic("hookplugin: asked to panic")
	}
	return sdk.Failure("unknown instruction " + c)
}

func init() {
	sdk.HandleProvisioning(handle)
	sdk.HandleDeprovisioning(handle)
	sdk.HandlePreApproval(handle)
	sdk.HandleRequestValidation(handle)
}
