package store

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// auditStrings are strings that exercise every escaping rule.
var auditStrings = []string{
	"", "plain", "alice@example.com", `quote " and \ backslash`, "<script>&amp;</script>",
	"tab\tnl\nret\rbs\bff\f", "\x00\x01\x1f\x7f", "héllo wörld ✓ 🎉", "line\u2028para\u2029",
	"bad utf8 \xff\xfe end", "truncated \xe2\x82", "\xed\xa0\x80 surrogate", "Ǆ Σ İ K",
}

func checkAuditJSON(t *testing.T, r AuditRecord) {
	t.Helper()
	want, werr := json.Marshal(r)
	got, gerr := appendAuditJSON([]byte("prefix"), &r)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("record %+v: encoding/json error %v, appendAuditJSON error %v", r, werr, gerr)
	}
	if werr != nil {
		if string(got) != "prefix" {
			t.Fatalf("record %+v: on error the buffer is %q, want it unchanged", r, got)
		}
		return
	}
	if !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("record %+v:\n got %s\nwant %s", r, got[len("prefix"):], want)
	}
}

func TestAppendAuditJSONMatchesEncodingJSON(t *testing.T) {
	base := AuditRecord{
		ID: "0123456789abcdef", Time: time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC),
		Kind: "pre_approval", AppID: "aws", InstanceID: "0oa", Permissions: []string{"a", "b"},
		User: "alice@example.com", Plugin: "p", Decision: "success", Response: "APPROVED",
		Message: "ok", Duration: 1234567, Error: "boom", Via: "lumos",
	}
	checkAuditJSON(t, base)
	checkAuditJSON(t, AuditRecord{})                           // every omitempty field empty, nil permissions
	checkAuditJSON(t, AuditRecord{Permissions: []string{}})    // empty, not nil
	checkAuditJSON(t, AuditRecord{Duration: -5 * time.Second}) // negative duration
	checkAuditJSON(t, AuditRecord{Logs: []string{}})           // empty logs: omitted
	withLogs := base
	withLogs.Logs = append([]string{"INFO one"}, auditStrings...)
	checkAuditJSON(t, withLogs)
	for _, loc := range []*time.Location{time.UTC, time.FixedZone("x", -7*3600-30*60), time.FixedZone("y", 14*3600)} {
		r := base
		r.Time = time.Date(2024, 12, 31, 23, 59, 59, 0, loc)
		checkAuditJSON(t, r)
	}
	for _, bad := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),                       // year out of range
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),                          // negative year
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("z", 24*3600+60)), // offset out of range
	} {
		r := base
		r.Time = bad
		checkAuditJSON(t, r)
	}
	for _, s := range auditStrings {
		for i := 0; i < 9; i++ {
			r := base
			switch i {
			case 0:
				r.ID = s
			case 1:
				r.Kind = s
			case 2:
				r.AppID, r.InstanceID = s, s
			case 3:
				r.Permissions = []string{s, s}
			case 4:
				r.User = s
			case 5:
				r.Plugin, r.Decision = s, s
			case 6:
				r.Response, r.Message = s, s
			case 7:
				r.Error = s
			case 8:
				r.Via = s
			}
			checkAuditJSON(t, r)
		}
	}
}

func FuzzAppendAuditJSON(f *testing.F) {
	for _, s := range auditStrings {
		f.Add(s, s, int64(0))
	}
	f.Fuzz(func(t *testing.T, a, b string, ns int64) {
		checkAuditJSON(t, AuditRecord{ID: a, Time: time.Unix(0, ns).UTC(), Kind: b, AppID: a, InstanceID: b,
			Permissions: []string{a, b}, User: a, Plugin: b, Decision: a, Response: b, Message: a,
			Duration: time.Duration(ns), Error: b, Via: a})
	})
}

func TestAppendInvertedTime(t *testing.T) {
	old := func(t time.Time) string { // the encoding before appendInvertedTime
		s := strconv.FormatUint(math.MaxUint64-uint64(t.UnixNano()), 16)
		return strings.Repeat("0", 16-len(s)) + s
	}
	for _, tm := range []time.Time{time.Unix(0, 0), time.Unix(0, 1), time.Now(),
		time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := string(appendInvertedTime(nil, tm)), old(tm); got != want {
			t.Errorf("%v: got %s, want %s", tm, got, want)
		}
	}
}

func TestAppendLower(t *testing.T) {
	for _, s := range append(auditStrings, "Alice@Example.COM", "ÀLICE@EXAMPLE.COM") {
		if got, want := string(appendLower([]byte("x"), s)), "x"+strings.ToLower(s); got != want {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	}
}
