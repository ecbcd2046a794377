package oktatest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Target is a System Log event target.
type Target struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

// UserTarget is the User target Okta writes for u.
func UserTarget(u User) Target {
	return Target{ID: u.ID, Type: "User", AlternateID: u.Login, DisplayName: strings.TrimSpace(u.FirstName + " " + u.LastName)}
}

// GroupTarget is the UserGroup target Okta writes for g (alternateId is
// literally "unknown").
func GroupTarget(g Group) Target {
	return Target{ID: g.ID, Type: "UserGroup", AlternateID: "unknown", DisplayName: g.Name}
}

// AppTarget is the AppInstance target Okta writes for a.
func AppTarget(a App) Target {
	return Target{ID: a.ID, Type: "AppInstance", AlternateID: a.Name, DisplayName: a.Label}
}

func (s *Server) userTarget(u *User) Target { return UserTarget(*u) }
func groupTarget(g *Group) Target           { return GroupTarget(*g) }
func appTarget(a *App) Target               { return AppTarget(*a) }

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Event builds a LogEvent in the documented shape (every top-level field
// present, as the System Log and event hooks send it) with a fresh uuid.
func Event(eventType string, published time.Time, targets ...Target) json.RawMessage {
	return EventWithUUID(newUUID(), eventType, published, targets...)
}

// EventWithUUID is Event with a given uuid (to build duplicates).
func EventWithUUID(uuid, eventType string, published time.Time, targets ...Target) json.RawMessage {
	if targets == nil {
		targets = []Target{}
	}
	ev := map[string]any{
		"uuid": uuid, "published": ts(published), "eventType": eventType, "version": "0",
		"displayMessage": eventType, "severity": "INFO",
		"client": map[string]any{"userAgent": map[string]any{"rawUserAgent": "hookgate-oktatest", "os": "Unknown", "browser": "UNKNOWN"},
			"zone": "null", "device": "Unknown", "id": nil, "ipAddress": "203.0.113.10",
			"geographicalContext": nil},
		"device": nil,
		"actor": map[string]any{"id": "00u11bGju0S48v4cQ5d7", "type": "User", "alternateId": "ada.admin@example.com",
			"displayName": "Ada Admin", "detailEntry": nil},
		"outcome":         map[string]any{"result": "SUCCESS", "reason": nil},
		"target":          targets,
		"transaction":     map[string]any{"type": "WEB", "id": "Yt" + strings.ReplaceAll(uuid[:8], "-", ""), "detail": map[string]any{}},
		"debugContext":    map[string]any{"debugData": map[string]any{"requestUri": "/api/v1/" + eventType}},
		"legacyEventType": nil,
		"authenticationContext": map[string]any{"authenticationProvider": nil, "credentialProvider": nil,
			"credentialType": nil, "issuer": nil, "interface": nil, "authenticationStep": 0, "externalSessionId": "trs-oktatest"},
		"securityContext":    map[string]any{"asNumber": nil, "asOrg": nil, "isp": nil, "domain": nil, "isProxy": nil},
		"request":            map[string]any{"ipChain": []any{}},
		"insertionTimestamp": nil,
	}
	b, _ := json.Marshal(ev)
	return b
}

// AddLogEvents appends raw LogEvent JSON objects to the System Log. Each
// must carry uuid, published and eventType.
func (s *Server) AddLogEvents(events ...json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, raw := range events {
		var h struct {
			UUID      string    `json:"uuid"`
			Published time.Time `json:"published"`
			EventType string    `json:"eventType"`
		}
		if err := json.Unmarshal(raw, &h); err != nil || h.UUID == "" || h.EventType == "" || h.Published.IsZero() {
			return fmt.Errorf("oktatest: log event lacks uuid, published or eventType: %v", err)
		}
		s.logs = append(s.logs, logEntry{published: h.Published, uuid: h.UUID, eventType: h.EventType, raw: raw})
	}
	s.sortLogs()
	return nil
}

func (s *Server) sortLogs() {
	sort.SliceStable(s.logs, func(i, j int) bool {
		a, b := s.logs[i], s.logs[j]
		if !a.published.Equal(b.published) {
			return a.published.Before(b.published)
		}
		return a.uuid < b.uuid
	})
}

// emit appends an event for a plugin action when Options.EmitEvents is set.
// The caller holds s.mu.
func (s *Server) emit(eventType string, now time.Time, targets ...Target) {
	if !s.opts.EmitEvents {
		return
	}
	raw := Event(eventType, now, targets...)
	var h struct {
		UUID string `json:"uuid"`
	}
	_ = json.Unmarshal(raw, &h)
	s.logs = append(s.logs, logEntry{published: now.UTC().Truncate(time.Millisecond), uuid: h.UUID, eventType: eventType, raw: raw})
	s.sortLogs()
}

// LogEvents returns the System Log's raw events in published order.
func (s *Server) LogEvents() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]json.RawMessage, len(s.logs))
	for i, e := range s.logs {
		out[i] = e.raw
	}
	return out
}

func parseLogTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp", v)
}

// listLogs serves GET /api/v1/logs: since (inclusive), until (exclusive),
// filter (eventType eq "..." joined by or), limit (default 100, max 1000),
// sortOrder and the opaque after cursor. Like Okta, a bounded request
// (until given) has a next link only while more events remain; a polling
// request (no until) always has one.
func (s *Server) listLogs(w http.ResponseWriter, r *http.Request, now time.Time) {
	q := r.URL.Query()
	since := now.Add(-7 * 24 * time.Hour)
	var until time.Time
	var err error
	if v := q.Get("since"); v != "" {
		if since, err = parseLogTime(v); err != nil {
			s.writeErr(w, 400, "E0000001", "Api validation failed: since", "since: "+err.Error())
			return
		}
	}
	if v := q.Get("until"); v != "" {
		if until, err = parseLogTime(v); err != nil {
			s.writeErr(w, 400, "E0000001", "Api validation failed: until", "until: "+err.Error())
			return
		}
	}
	var types map[string]bool
	if f := q.Get("filter"); f != "" {
		if types, err = parseEqFilter(f, "eventType"); err != nil {
			s.writeErr(w, 400, "E0000001", "Api validation failed: filter", err.Error())
			return
		}
	}
	limit := 100
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 {
		limit = min(l, 1000)
	}
	limit = min(limit, s.opts.PageSize)
	desc := q.Get("sortOrder") == "DESCENDING"
	var afterPub time.Time
	var afterUUID string
	if a := q.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		pub, uuid, ok := strings.Cut(string(b), "|")
		if err != nil || !ok {
			s.writeErr(w, 400, "E0000001", "Api validation failed: after", "after: not a cursor this server issued")
			return
		}
		afterPub, _ = time.Parse(time.RFC3339Nano, pub)
		afterUUID = uuid
	}
	var match []logEntry
	for _, e := range s.logs {
		if e.published.Before(since) || (!until.IsZero() && !e.published.Before(until)) {
			continue
		}
		if types != nil && !types[e.eventType] {
			continue
		}
		match = append(match, e)
	}
	if desc {
		for i, j := 0, len(match)-1; i < j; i, j = i+1, j-1 {
			match[i], match[j] = match[j], match[i]
		}
	}
	if !afterPub.IsZero() {
		i := 0
		for i < len(match) {
			e := match[i]
			i++
			if e.published.Equal(afterPub) && e.uuid == afterUUID {
				break
			}
		}
		match = match[i:]
	}
	more := len(match) > limit
	if more {
		match = match[:limit]
	}
	out := make([]json.RawMessage, len(match))
	for i, e := range match {
		out[i] = e.raw
	}
	w.Header().Add("Link", "<"+s.URL+r.URL.Path+"?"+q.Encode()+`>; rel="self"`)
	if more || until.IsZero() {
		if len(match) > 0 {
			last := match[len(match)-1]
			q.Set("after", base64.RawURLEncoding.EncodeToString([]byte(last.published.Format(time.RFC3339Nano)+"|"+last.uuid)))
		}
		w.Header().Add("Link", "<"+s.URL+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
	s.writeJSON(w, 200, out)
}
