package okta

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/hookgate/hookgate/store"
)

// Ids of the fixture org (../shared/fixtures/okta/README.md).
const (
	fxAlice    = "00uq2bQsGEKuDyxue5d7"
	fxBob      = "00uaYtXZpfwTv6JxN5d7"
	fxCarol    = "00u9sDa0whxJ5GtFS5d7"
	fxDave     = "00uRjPeukKKQ9vu1W5d7"
	fxOncall   = "00g9I8I2YXF3R9IKb5d7"
	fxPlatform = "00gQtX8kNb9Q26jxr5d7"
	fxAWS      = "0oauAvkhqZlFVNOUV5d7"
	fxSlack    = "0oa0X4Cu5cOdbijP45d7"
)

// fxDir finds shared/fixtures/okta beside the repository root by walking up
// from the package directory. Tests fail, not skip, without it.
func fxDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "fixtures", "okta")
		if st, err := os.Stat(filepath.Join(cand, "README.md")); err == nil && !st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("fixtures not found: no shared/fixtures/okta in any parent of the package directory")
		}
		dir = parent
	}
}

// fxRead reads one fixture file.
func fxRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fxDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fxFiles lists every *.json fixture.
func fxFiles(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(fxDir(t), "*.json"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	sort.Strings(m)
	return m
}

func fxStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// fxIngest parses body and ingests it, failing the test on any error.
func fxIngest(t testing.TB, s *store.Store, body []byte) IngestResult {
	t.Helper()
	b, err := ParseEnvelope(body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	res, err := Ingest(s, b, IngestOptions{})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return res
}

// fxEnvelope wraps raw events in an envelope.
func fxEnvelope(t testing.TB, id string, events ...json.RawMessage) []byte {
	t.Helper()
	env := Envelope{EventType: EventHookType, EventTypeVersion: "1.0", CloudEventsVersion: "0.1",
		EventID: id, EventTime: "2026-03-03T10:00:00.000Z", ContentType: "application/json",
		Data: EnvelopeData{Events: events}}
	if env.Data.Events == nil {
		env.Data.Events = []json.RawMessage{}
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fxEvent builds a minimal event of type typ published at minute min of
// 2026-03-03T09:00Z with the given targets.
func fxEvent(t testing.TB, uuid, typ string, min int, targets ...Target) json.RawMessage {
	t.Helper()
	ev := map[string]any{
		"uuid":      uuid,
		"eventType": typ,
		"published": time.Date(2026, 3, 3, 9, min, 0, 0, time.UTC).Format("2006-01-02T15:04:05.000Z"),
		"outcome":   map[string]any{"result": "SUCCESS", "reason": nil},
		"target":    targets,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fxUserT(id, login string) Target {
	return Target{ID: id, Type: TargetUser, AlternateID: login, DisplayName: login}
}

func fxGroupT(id, name string) Target {
	return Target{ID: id, Type: TargetUserGroup, AlternateID: "unknown", DisplayName: name}
}

func fxAppT(id, name, label string) Target {
	return Target{ID: id, Type: TargetAppInstance, AlternateID: name, DisplayName: label}
}
