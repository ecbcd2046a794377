package sdk

import (
	"encoding/json"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"testing"
)

var requestDocs = []string{
	`{"application":{"app_id":"demo_app","instance_id":"0ob3ggjlhx892dc4abcde","user_friendly_label":"Demo App"},
 "permissions":[{"label":"Permission One Label","value":"Permission One","type":"PERMISSION","source":"MANUAL"},
                {"label":"Two","value":"2","type":"GROUP","source":"OKTA","extra":{"a":[1,2,{"b":null}]}}],
 "target_user":{"email":"peterparker@example.com","given_name":"Peter","family_name":"Parker"},
 "access_length":43189,"request_comment":"Give me access!",
 "request_task_url":"https://example.com/tasks?requestId=12898293343",
 "custom_fields":{"username":"pparker","n":1.5,"ok":true,"list":["x",2,null],"obj":{"k":"v"}}}`,
	`{"application":{"app_id":"a"},"permissions":[],"target_user":{"email":"e"},"access_length":null,"custom_fields":null}`,
	`{"request_comment":"quote \" backslash \\ slash \/ nl \n tab \t uni \u00e9 \u20ac pair \ud83d\ude00 ctl \u0001 raw é€😀","unknown":[{"deep":[[[]]]}]}`,
	` { "target_user" : { "email" : "spaced@example.com" } , "access_length" : 1000 } `,
	`{}`,
	// Integer fast path and its fall-backs.
	`{"access_length":-7}`, `{"access_length":0}`, `{"access_length":123456789012345678}`,
	`{"access_length":1234567890123456789}`, `{"access_length":-9223372036854775808}`,
	`{"access_length":3600}`, `{"access_length":3600 }`,
}

func TestDecodeRequestMatchesEncodingJSON(t *testing.T) {
	for _, doc := range requestDocs {
		var want Request
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatalf("encoding/json: %v\n%s", err, doc)
		}
		got, err := decodeRequest([]byte(doc))
		if err != nil {
			t.Fatalf("decodeRequest: %v\n%s", err, doc)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("doc %s\n got %#v\nwant %#v", doc, *got, want)
		}
	}
}

func TestDecodeMalformedNeverPanics(t *testing.T) {
	doc := requestDocs[0] + requestDocs[2]
	for i := range len(doc) {
		decodeRequest([]byte(doc[:i])) // must return, not panic
		decodeOktaEvent([]byte(doc[:i]))
		decodeUser([]byte(doc[:i]))
		decodeHTTPResponse([]byte(doc[:i]))
	}
	for _, bad := range []string{`{"application":`, `{"a" 1}`, `[`, `{"request_comment":"\u12"}`, `{"x":"a` + "\x01" + `"}`, `{"access_length":"x"}`, `{} x`, `nul`} {
		if _, err := decodeRequest([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestDecodeOktaEventFixture(t *testing.T) {
	raw, err := os.ReadFile("../../shared/fixtures/okta/group.user_membership.add.json")
	if err != nil {
		t.Skip("fixture not available:", err)
	}
	var env struct {
		Data struct {
			Events []json.RawMessage `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	for _, ev := range env.Data.Events {
		var want OktaEvent
		if err := json.Unmarshal(ev, &want); err != nil {
			t.Fatal(err)
		}
		want.Raw = ev
		got, err := decodeOktaEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("got %#v\nwant %#v", *got, want)
		}
	}
}

func TestDecodeIdentityDocs(t *testing.T) {
	users := `[{"id":"00u1","login":"a@x.com","email":"a@x.com","displayName":"A","firstName":"A","lastName":"B","status":"ACTIVE","groups":["g1","g2"],"apps":[]},
	           {"id":"00u2","login":"b","email":"","displayName":"","firstName":"","lastName":"","status":null,"groups":[],"apps":["x"]}]`
	var want []User
	json.Unmarshal([]byte(users), &want)
	got, err := decodeUsers([]byte(users))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("users: %v\n got %#v\nwant %#v", err, got, want)
	}
	groups := `[{"id":"g1","name":"oncall","description":"d \"q\""},{"id":"g2","name":"n","description":"","members":["u"],"apps":null}]`
	var wantG []Group
	json.Unmarshal([]byte(groups), &wantG)
	gotG, err := decodeGroups([]byte(groups))
	if err != nil || !reflect.DeepEqual(gotG, wantG) {
		t.Fatalf("groups: %v\n got %#v\nwant %#v", err, gotG, wantG)
	}
}

func TestEncoders(t *testing.T) {
	tricky := "q\" b\\ nl\n cr\r tab\t ctl\x01\x7f uni é€😀 </script>"
	var d struct {
		Success *bool  `json:"success"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(encodeDecision(nil, Decision{Success: true, Message: tricky}), &d); err != nil || d.Success == nil || !*d.Success || d.Message != tricky {
		t.Fatalf("decision: %v %+v", err, d)
	}
	if string(encodeDecision(nil, Decision{})) != `{"success":false}` {
		t.Fatalf("empty decision: %s", encodeDecision(nil, Decision{}))
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(errorOutput("no_handler", tricky), &e); err != nil || e.Error.Code != "no_handler" || e.Error.Message != tricky {
		t.Fatalf("error output: %v %+v", err, e)
	}
	var h struct {
		Method, URL string
		Headers     map[string]string
		Body        string
		BodyBase64  string `json:"body_base64"`
	}
	req := HTTPRequest{Method: "POST", URL: "https://x/" + tricky, Headers: map[string]string{"A": tricky, "B": "2"}, Body: []byte(tricky)}
	if err := json.Unmarshal(encodeHTTPRequest(req), &h); err != nil || h.Method != "POST" || h.URL != req.URL || h.Headers["A"] != tricky || h.Body != tricky {
		t.Fatalf("http request: %v %+v", err, h)
	}
	bin := HTTPRequest{Method: "PUT", URL: "u", Body: []byte{0xff, 0, 1}}
	if err := json.Unmarshal(encodeHTTPRequest(bin), &h); err != nil || h.BodyBase64 != "/wAB" {
		t.Fatalf("binary body: %v %+v", err, h)
	}
	resp, err := decodeHTTPResponse([]byte(`{"status":201,"headers":{"X":"y"},"body_base64":"/wAB"}`))
	if err != nil || resp.Status != 201 || resp.Headers["X"] != "y" || string(resp.Body) != "\xff\x00\x01" {
		t.Fatalf("http response: %v %+v", err, resp)
	}
}

func TestScanHelpers(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []byte("ab\"\\\x01 é")
	for range 5000 {
		n := rng.Intn(40)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		s := string(b)
		start := 0
		if n > 0 {
			start = rng.Intn(n + 1)
		}
		want := len(s)
		for i := start; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
				want = i
				break
			}
		}
		if got := plainUntil(s, start); got != want {
			t.Fatalf("plainUntil(%q, %d) = %d, want %d", s, start, got, want)
		}
		other := s
		if n > 0 && rng.Intn(2) == 0 {
			o := []byte(s)
			o[rng.Intn(n)] ^= 1
			other = string(o)
		}
		if eq(s, other) != (s == other) || eq(s, s+"x") {
			t.Fatalf("eq(%q, %q) wrong", s, other)
		}
	}
	if eq(strings.Repeat("k", 30), strings.Repeat("k", 29)+"j") {
		t.Fatal("eq long")
	}
}

func TestDecodeRequestIntegerFallbacks(t *testing.T) {
	for doc, want := range map[string]int64{
		`{"access_length":3.6e3}`: 3600, `{"access_length":3600.0}`: 3600, `{"access_length":1E2}`: 100,
	} {
		got, err := decodeRequest([]byte(doc))
		if err != nil || got.AccessLength == nil || *got.AccessLength != want {
			t.Errorf("%s: got %v, %v; want %d", doc, got.AccessLength, err, want)
		}
	}
	for _, doc := range []string{`{"access_length":1.5}`, `{"access_length":"1"}`, `{"access_length":-}`, `{"access_length":99999999999999999999}`} {
		if _, err := decodeRequest([]byte(doc)); err == nil {
			t.Errorf("%s: no error", doc)
		}
	}
}
