package hook

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/plugins"
)

func TestLogSummary(t *testing.T) {
	if got := logSummary(nil); got != nil {
		t.Fatalf("no lines: %v", got)
	}
	lines := []plugins.LogLine{{Level: slog.LevelInfo, Message: "one"}, {Level: slog.LevelError, Message: "two"}}
	if got, want := logSummary(lines), []string{"INFO one", "ERROR two"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("summary = %q, want %q", got, want)
	}
	long := strings.Repeat("é", maxSummaryLine) // 2 bytes each: cut mid-rune
	many := make([]plugins.LogLine, maxSummaryLines+3)
	for i := range many {
		many[i] = plugins.LogLine{Level: slog.LevelWarn, Message: long}
	}
	got := logSummary(many)
	if len(got) != maxSummaryLines+1 || got[maxSummaryLines] != "… 3 more lines" {
		t.Fatalf("summary of %d lines = %q", len(many), got)
	}
	if l := got[0]; !strings.HasPrefix(l, "WARN ") || len(l) > len("WARN ")+maxSummaryLine+len("…") || !strings.HasSuffix(l, "é…") {
		t.Fatalf("long line summarized as %q", l)
	}
}
