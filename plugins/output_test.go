package plugins

import (
	"encoding/json"
	"testing"
)

// FuzzParseDecisionFast: whenever the fast path accepts an output, the
// general path (encoding/json into wireOutput) reads the same decision
// from it.
func FuzzParseDecisionFast(f *testing.F) {
	for _, s := range []string{
		`{"success":true}`, `{"success":false}`, `{"success":true,"message":"ok"}`,
		`{"success":false,"message":"bob is not in oncall; normal approval applies"}`,
		`{"success":true,"message":"a\"b"}`, `{"success":true,"message":"é ✓"}`,
		`{"success":true,"message":"x","error":{"code":"c","message":"m"}}`,
		`{"success":trueX}`, `{"success":true,"message":""}`, `{"error":{"code":"no_handler","message":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		d, ok := parseDecisionFast(out)
		if !ok {
			return
		}
		var w wireOutput
		if err := json.Unmarshal(out, &w); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", out, err)
		}
		if w.Error != nil || w.Success == nil || *w.Success != d.Success || w.Message != d.Message {
			t.Fatalf("%q: fast %+v, encoding/json %+v", out, d, w)
		}
	})
}
