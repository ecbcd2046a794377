// Command training-validation is a hookgate plugin for the
// request_validation hook: a request is valid only when the target user has
// completed a training course, as reported by an HTTP training API the
// plugin may reach (allowed_hosts).
//
// Config keys:
//
//	training_api  base URL of the training API, e.g. https://lms.example.com
//	course        course id that must be completed, e.g. "prod-access-101"
//	token         optional bearer token for the API (use "${LMS_TOKEN}")
//
// The API contract it expects (adapt fetchCompletion to your LMS):
//
//	GET <training_api>/v1/completions?user=<email>&course=<course>
//	200 {"completed": true, "completed_at": "2025-01-31T10:00:00Z"}
//	200 {"completed": false}  or  404  -> not completed
//
// It fails closed: when the API cannot be reached or answers anything else,
// the request is invalid with a message saying the check could not be made.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o training-validation.wasm .
// Needs capabilities: config, http (log optional).
package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/hookgate/hookgate/sdk"
)

func main() {}

func init() {
	sdk.HandleRequestValidation(validate)
}

func validate(req *sdk.Request) sdk.Decision {
	base, course := strings.TrimRight(sdk.Config("training_api"), "/"), sdk.Config("course")
	if base == "" || course == "" {
		sdk.Log.Error("config keys training_api and course are required")
		return sdk.Invalid("training verification is not configured; contact IT")
	}
	email := req.TargetUser.Email
	done, err := fetchCompletion(base, course, email)
	if err != nil {
		sdk.Log.Error("training check for %s failed: %v", email, err)
		return sdk.Invalid(fmt.Sprintf("could not verify completion of the %q training right now (the training system did not answer); please try again later or contact IT", course))
	}
	if !done {
		return sdk.Invalid(fmt.Sprintf("complete the %q training before requesting this access, then submit the request again", course))
	}
	return sdk.Valid("")
}

// fetchCompletion asks the training API whether email completed course.
func fetchCompletion(base, course, email string) (bool, error) {
	u := base + "/v1/completions?user=" + url.QueryEscape(email) + "&course=" + url.QueryEscape(course)
	headers := map[string]string{"Accept": "application/json"}
	if tok := sdk.Config("token"); tok != "" {
		headers["Authorization"] = "Bearer " + tok
	}
	resp, err := sdk.HTTP.Get(u, headers)
	if err != nil {
		return false, err
	}
	switch resp.Status {
	case 200:
	case 404:
		return false, nil
	default:
		return false, fmt.Errorf("GET %s: HTTP %d", u, resp.Status)
	}
	var body struct {
		Completed *bool `json:"completed"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || body.Completed == nil {
		return false, fmt.Errorf("GET %s: unexpected body %.200q", u, resp.Body)
	}
	return *body.Completed, nil
}
