package okta

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate/store"
)

// CatchUpEventTypes are the event types System Log catch-up reads by
// default: the state-changing types Apply models (DESIGN.md's and issue
// 16's).
var CatchUpEventTypes = []string{
	"group.lifecycle.create", "group.lifecycle.delete", "group.profile.update",
	"group.user_membership.add", "group.user_membership.remove",
	"group.application_assignment.add", "group.application_assignment.remove",
	"group.application_assignment.update",
	"user.lifecycle.create", "user.lifecycle.activate", "user.lifecycle.reactivate",
	"user.lifecycle.deactivate", "user.lifecycle.suspend", "user.lifecycle.unsuspend",
	"user.lifecycle.delete.initiated", "user.lifecycle.delete.completed",
	"user.lifecycle.password_mass_expiry",
	"user.account.lock", "user.account.unlock", "user.account.unlock_by_admin",
	"user.account.expire_password", "user.account.reset_password",
	"user.account.update_profile",
	"user.account.privilege.grant", "user.account.privilege.revoke",
	"application.user_membership.add", "application.user_membership.remove",
	"application.user_membership.update", "application.user_membership.change_username",
}

// LogQuery selects System Log events (GET /api/v1/logs).
type LogQuery struct {
	// Since and Until bound published (Until exclusive). A zero Until
	// makes a polling request, whose next link never ends; the client
	// stops at the first empty page.
	Since, Until time.Time
	// Filter is an Okta filter expression, e.g. EventTypeFilter(...).
	Filter string
	// Limit is the page size (Okta allows up to 1000). Default 1000.
	Limit int
	// Descending sorts newest first; the default is ASCENDING.
	Descending bool
}

// logTime is the timestamp format the System Log takes.
const logTime = "2006-01-02T15:04:05.000Z"

// ListLogs pages through the System Log, following the after cursor in
// Link rel="next". Events are handed over raw (see NewLogBatch).
func (c *Client) ListLogs(ctx context.Context, q LogQuery, fn PageFunc[json.RawMessage]) error {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(logTime))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(logTime))
	}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	v.Set("limit", strconv.Itoa(limit))
	if q.Descending {
		v.Set("sortOrder", "DESCENDING")
	} else {
		v.Set("sortOrder", "ASCENDING")
	}
	return listPages(ctx, c, "/api/v1/logs", v, fn)
}

// EventTypeFilter builds Okta's filter for any of types:
// `eventType eq "a" or eventType eq "b"`.
func EventTypeFilter(types []string) string {
	var b strings.Builder
	for i, t := range types {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(`eventType eq "`)
		b.WriteString(strings.ReplaceAll(t, `"`, `\"`))
		b.WriteString(`"`)
	}
	return b.String()
}

// NewLogBatch turns raw System Log events into a Batch for Ingest, parsed
// and validated exactly as an event hook delivery's data.events: malformed
// events go to Rejected with their reason. id names the batch in the
// rejected-events log.
func NewLogBatch(id string, raws []json.RawMessage) *Batch {
	b := &Batch{EnvelopeID: id, Events: make([]*LogEvent, 0, len(raws))}
	for i, raw := range raws {
		ev, err := parseEvent(raw)
		if err != nil {
			b.Rejected = append(b.Rejected, RejectedEvent{Index: i, Reason: err.Error(), Raw: raw})
			continue
		}
		ev.index = i
		b.Events = append(b.Events, ev)
	}
	return b
}

// CatchUpOptions configures CatchUp. The zero value is usable.
type CatchUpOptions struct {
	// Since overrides where to start; by default the store's last-applied
	// published time minus Overlap.
	Since time.Time
	// Overlap is read again before the watermark, for events the System
	// Log indexed late; dedupe by uuid makes it cheap. Default 5m.
	Overlap time.Duration
	// Until bounds the read. Default: now.
	Until time.Time
	// ExtraTypes are read besides CatchUpEventTypes (types that [[on_event]]
	// plugins subscribe to), so their plugins see missed events too.
	ExtraTypes []string
	// PageSize is the System Log page size. Default 1000 (Okta's maximum).
	PageSize int
	// Ingest commits one page of events. Default: Ingest(st, b,
	// IngestOptions{}); the server passes its own to enqueue plugin work
	// in the same transaction.
	Ingest func(b *Batch) (IngestResult, error)
	// Logger receives the summary line. Default slog.Default().
	Logger *slog.Logger
}

// CatchUpResult counts one catch-up run.
type CatchUpResult struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	Pages int       `json:"pages"`
	// Read is the number of events the System Log returned.
	Read       int `json:"read"`
	Accepted   int `json:"accepted"`   // new: applied now (the hook never delivered them)
	Duplicates int `json:"duplicates"` // already applied
	Rejected   int `json:"rejected"`
	// Skipped explains a run that read nothing on purpose.
	Skipped string `json:"skipped,omitempty"`
}

// CatchUp reads the System Log from the store's last-applied published time
// (minus an overlap) to now, for the modelled event types, and feeds every
// page through the same dedupe-and-apply pipeline as event hook deliveries.
// Events the hook never delivered end up applied; those it did are counted
// as duplicates. On a store that never applied an event and was never
// synced, there is no starting point: it reads nothing and says so in
// Skipped (run a sync first, or pass Since).
func CatchUp(ctx context.Context, c *Client, st *store.Store, opts CatchUpOptions) (CatchUpResult, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	since := opts.Since
	if since.IsZero() {
		last, err := st.LastAppliedPublished()
		if err != nil {
			return CatchUpResult{}, fmt.Errorf("okta catch-up: %w", err)
		}
		if last.IsZero() {
			return CatchUpResult{Skipped: "no event applied yet and no sync done: nothing to catch up from (run `hookgate okta sync`)"}, nil
		}
		overlap := opts.Overlap
		if overlap <= 0 {
			overlap = 5 * time.Minute
		}
		since = last.Add(-overlap)
	}
	until := opts.Until
	if until.IsZero() {
		until = time.Now()
	}
	res := CatchUpResult{Since: since.UTC(), Until: until.UTC()}
	if !since.Before(until) {
		res.Skipped = "the watermark is not in the past"
		return res, nil
	}
	ingest := opts.Ingest
	if ingest == nil {
		ingest = func(b *Batch) (IngestResult, error) { return Ingest(st, b, IngestOptions{}) }
	}
	types := slices.Clone(CatchUpEventTypes)
	for _, t := range opts.ExtraTypes {
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	q := LogQuery{Since: since, Until: until, Filter: EventTypeFilter(types), Limit: opts.PageSize}
	err := c.ListLogs(ctx, q, func(raws []json.RawMessage, _ time.Time) error {
		res.Pages++
		res.Read += len(raws)
		b := NewLogBatch(fmt.Sprintf("systemlog:%s/%d", res.Since.Format(time.RFC3339), res.Pages), raws)
		r, err := ingest(b)
		res.Accepted += r.Accepted
		res.Duplicates += r.Duplicates
		res.Rejected += r.Rejected
		return err
	})
	if err != nil {
		return res, fmt.Errorf("okta catch-up from %s: %w", res.Since.Format(time.RFC3339), err)
	}
	log.Info("okta catch-up finished", "since", res.Since, "until", res.Until, "read", res.Read,
		"accepted", res.Accepted, "duplicates", res.Duplicates, "rejected", res.Rejected)
	return res, nil
}
