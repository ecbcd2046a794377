package hook

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// fastCases are bodies that probe every rule of parseHookFast: each is
// either decoded exactly as encoding/json decodes it or left to it.
var fastCases = []string{
	`{}`, `{"application":null,"target_user":null,"permissions":null,"access_length":null,"custom_fields":null}`,
	`{"permissions":[]}`, `{"permissions":[ ]}`, `{"permissions":[{}]}`, `{"permissions":[null]}`, `{"permissions":{}}`,
	`{"permissions":[{"value":"a"},{"value":"b"},{"value":"c","label":"L","type":"T","source":"S","x":[1]}]}`,
	`{"permissions":[{"value":"a","value":"b"}]}`, `{"permissions":[{"value":"","value":"b"}]}`,
	`{"permissions":[{"value":"a"},]}`, `{"permissions":[{"value":"a"}`, `{"permissions":[{"value":1}]}`,
	`{"application":{"app_id":"a"},"application":{"instance_id":"b"}}`, `{"application":{"app_id":"a"},"application":null}`,
	`{"application":{"app_id":"a"},"application":null,"application":{"instance_id":"b"}}`,
	`{"permissions":[{"value":"a","label":"x"}],"permissions":[{"value":"b"}]}`, `{"permissions":[{"value":"a"}],"permissions":[]}`,
	`{"target_user":{"email":"a@b"},"target_user":null}`, `{"custom_fields":{"a":1},"custom_fields":null}`,
	`{"application":{"app_id":"a","app_id":null}}`, `{"application":{"app_id":null}}`,
	`{"Application":{"app_id":"a"}}`, `{"application":{"APP_ID":"x"}}`, `{"applicatıon":{}}`, `{"ſource":1}`, `{"permissions":[{"ſource":"x","value":"a"}]}`,
	`{"application":{"app_id":"a\u00e9"}}`, "{\"application\":{\"app_id\":\"\xff\"}}", `{"application":{"app_id":"ünïcödé ✓"}}`,
	`{"application":"aws"}`, `{"application":[]}`, `{"application":{"app_id":5}}`,
	`{"access_length":0}`, `{"access_length":-0}`, `{"access_length":-1}`, `{"access_length":43189}`,
	`{"access_length":1.0}`, `{"access_length":1e3}`, `{"access_length":01}`, `{"access_length":"5"}`,
	`{"access_length":9223372036854775807}`, `{"access_length":9223372036854775808}`, `{"access_length":-}`,
	`{"access_length":true}`, `{"access_length":1,"access_length":2}`,
	`{"custom_fields":{"a":[1,2,{"b":null}],"c":"\u0041\n","d":-1.5e+3,"e":true,"f":false}}`,
	`{"custom_fields":"x"}`, `{"custom_fields":12}`, `{"custom_fields": { } }`, `{"custom_fields":{"\u00e9":1}}`,
	`{"custom_fields":{"a":1,}}`, `{"custom_fields":{"a":"\x"}}`, `{"custom_fields":{"a":"\u12"}}`, `{"custom_fields":[1 2]}`,
	`{"custom_fields":{"n":-01}}`, `{"custom_fields":{"n":1.}}`, `{"custom_fields":{"n":1e}}`, `{"custom_fields":{"n":.5}}`,
	`{"x":1}garbage`, `{"x":1} `, `{"x":tru}`, `{"x":nul}`, `{"x":1,}`, `{,}`, `{"x"}`, `{"x":}`, `{"x" 1}`, `{"x":1 "y":2}`,
	`{"request_comment":"a` + "\t" + `b"}`, `{"request_comment":null}`, `{"request_comment":"a","request_comment":"b"}`,
	`{"request_comment":"say \"hi\""}`, `{"request_task_url":"https:\/\/x"}`, `{"request_comment":7}`,
	`{"target_user":{"email":"a@b","extra":{"k":[true,false,null,-1.5e+3]}}}`, `{"target_user":{"Email":"a@b"}}`,
	`{"unknown":"\ud83d\ude00","other":[[],{}]}`, "{\"unknown\":\"\xff\xfe\"}", `{"a":"` + "\x01" + `"}`,
	`{"deep":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	`{"deep":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`,
	`{"deep":` + strings.Repeat(`{"a":`, 30) + `1` + strings.Repeat("}", 30) + `}`,
}

// checkFast fails if parseHookFast accepts body but decodes it differently
// from encoding/json (or accepts a body encoding/json refuses). It reports
// whether the fast path accepted the body.
func checkFast(t *testing.T, body []byte) bool {
	t.Helper()
	fast, ok := parseHookFast(body)
	if !ok {
		return false
	}
	var slow HookRequest
	if err := json.Unmarshal(body, &slow); err != nil {
		t.Fatalf("%q: fast path accepted a body encoding/json refuses: %v", body, err)
	}
	if !reflect.DeepEqual(fast, &slow) {
		t.Fatalf("%q: fast path decoded\n%#v\nencoding/json decoded\n%#v", body, fast, &slow)
	}
	return true
}

func TestParseHookFastMatchesEncodingJSON(t *testing.T) {
	accepted := 0
	for _, c := range fastCases {
		if checkFast(t, []byte(c)) {
			accepted++
		}
	}
	// Both branches must be exercised.
	if accepted < 20 || accepted > len(fastCases)-20 {
		t.Fatalf("fast path accepted %d of %d cases", accepted, len(fastCases))
	}
}

// TestParseHookFastTakesTypicalBodies: the Lumos fixtures and bodies as
// tests build them do not fall back to encoding/json (that would be slow,
// not wrong).
func TestParseHookFastTakesTypicalBodies(t *testing.T) {
	for f, b := range lumosBodies(t) {
		if !checkFast(t, []byte(strings.TrimSpace(string(b)))) {
			t.Errorf("%s: fast path fell back to encoding/json", f)
		}
	}
	b, _ := json.Marshal(map[string]any{
		"application":   map[string]string{"app_id": "aws", "instance_id": "i", "user_friendly_label": "AWS"},
		"permissions":   []map[string]string{{"label": "a", "value": "a"}, {"label": "b", "value": "b"}, {"label": "c", "value": "c"}},
		"target_user":   map[string]string{"email": "a@example.com", "given_name": "A", "family_name": "B"},
		"access_length": nil, "request_comment": "please", "custom_fields": nil,
	})
	if !checkFast(t, b) {
		t.Errorf("%s: fast path fell back to encoding/json", b)
	}
}

func FuzzParseHookFast(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c))
	}
	for _, b := range lumosBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFast(t, body)
	})
}
