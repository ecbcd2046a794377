package okta

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookgate/hookgate/store"
)

// IngestOptions configures Ingest.
type IngestOptions struct {
	// Retention is how long accepted events and their dedupe markers are
	// kept (0 = forever). A redelivery after it expires is applied again,
	// which the last-writer-wins state absorbs.
	Retention time.Duration
	// Work, when set, plans the plugin work for each event not seen
	// before (the [[on_event]] subscriptions it matches). The items are
	// enqueued in the batch's commit, and only if the event is newly
	// accepted there, so they commit atomically with the event. It is not
	// called for events the store already holds; an error fails the whole
	// batch before anything is written.
	Work func(ev *LogEvent) ([]store.QueueItem, error)
	// Now stamps the received time. Default: time.Now.
	Now func() time.Time
}

// IngestResult counts what Ingest did with a batch.
type IngestResult struct {
	Accepted   int            // new events logged and applied
	Duplicates int            // events whose uuid was already seen (also within the batch)
	Rejected   int            // malformed events kept aside with a reason
	Types      map[string]int // accepted events per eventType
	Commits    int            // store transactions the batch took (more than 1 when too big for one)
	// Lookups are users worth reading from the Management API now: those
	// a user.account.update_profile event names (Okta sends the changed
	// attributes' names, not their values) and those first seen in this
	// batch (known only from an event target). In batch order, without
	// duplicates.
	Lookups []string
}

// Ingest durably applies a parsed batch as one store operation
// (store.OpIngest): in one transaction committed with synced writes the
// store records the rejected elements, and for each event in envelope
// order skips it if its uuid was seen (in the store or earlier in the
// batch), otherwise logs it, applies its identity changes (Changes),
// enqueues its planned work and raises the last-applied watermark. It
// returns only after the commit, so the caller may acknowledge the
// delivery.
//
// Concurrent calls are safe: conflicts re-run the transaction from
// scratch. A batch too big for one Badger transaction is split into several
// commits in envelope order, all committed before Ingest returns; if one of
// them fails, the earlier ones stay committed (a redelivery is deduplicated).
func Ingest(st *store.Store, b *Batch, opt IngestOptions) (IngestResult, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	op := &store.OpIngest{EnvelopeID: b.EnvelopeID, Received: now().UTC()}
	if opt.Retention > 0 {
		op.ExpiresAt = op.Received.Add(opt.Retention)
	}
	op.Items = make([]store.IngestItem, 0, len(b.Rejected)+len(b.Events))
	for i := range b.Rejected {
		r := &b.Rejected[i]
		op.Items = append(op.Items, store.IngestItem{Rejected: &store.Rejected{Index: r.Index, Reason: r.Reason, Raw: r.Raw}})
	}
	seen, err := seenBefore(st, b, opt)
	if err != nil {
		return IngestResult{Types: map[string]int{}}, fmt.Errorf("okta: ingest envelope %q: %w", b.EnvelopeID, err)
	}
	for i, ev := range b.Events {
		item, err := ingestItem(ev, opt, seen[i])
		if err != nil {
			return IngestResult{Types: map[string]int{}}, fmt.Errorf("okta: ingest envelope %q: %w", b.EnvelopeID, err)
		}
		op.Items = append(op.Items, item)
	}
	res, err := st.Ingest(op)
	out := IngestResult{Accepted: res.Accepted, Duplicates: res.Duplicates, Rejected: res.Rejected, Types: res.Types,
		Commits: res.Commits, Lookups: res.Lookups}
	if out.Types == nil {
		out.Types = map[string]int{}
	}
	if err != nil {
		return out, fmt.Errorf("okta: ingest envelope %q: %w", b.EnvelopeID, err)
	}
	return out, nil
}

// seenBefore says, when work is planned, which events need none: those
// the store already holds and repeats of a uuid earlier in the batch.
func seenBefore(st *store.Store, b *Batch, opt IngestOptions) ([]bool, error) {
	seen := make([]bool, len(b.Events))
	if opt.Work == nil {
		return seen, nil
	}
	uuids := make([]string, len(b.Events))
	for i, ev := range b.Events {
		uuids[i] = ev.UUID
	}
	stored, err := st.SeenEvents(uuids)
	if err != nil {
		return nil, err
	}
	inBatch := make(map[string]bool, len(uuids))
	for i, u := range uuids {
		seen[i] = stored[i] || inBatch[u]
		inBatch[u] = true
	}
	return seen, nil
}

// ingestItem is the store's view of one event: as logged, its identity
// changes and its planned work (none when seen).
func ingestItem(ev *LogEvent, opt IngestOptions, seen bool) (store.IngestItem, error) {
	raw := ev.Raw
	if len(raw) == 0 {
		var err error
		if raw, err = json.Marshal(ev); err != nil {
			return store.IngestItem{}, fmt.Errorf("encode event %s: %w", ev.UUID, err)
		}
	}
	changes, err := Changes(ev)
	if err != nil {
		// Only a hand-built batch gets here; the parser rejects these.
		return store.IngestItem{Rejected: &store.Rejected{Index: ev.index, Reason: err.Error(), Raw: raw}}, nil
	}
	item := store.IngestItem{
		Event: store.LoggedEvent{UUID: ev.UUID, Type: ev.EventType, Published: ev.Published,
			PublishedText: ev.PublishedText, Raw: raw},
		Changes: changes,
	}
	if ev.EventType == "user.account.update_profile" {
		if u := ev.TargetOf(TargetUser); u != nil {
			item.Lookup = u.ID
		}
	}
	if opt.Work != nil && !seen {
		if item.Work, err = opt.Work(ev); err != nil {
			return store.IngestItem{}, fmt.Errorf("on accepted %s %s: %w", ev.EventType, ev.UUID, err)
		}
	}
	return item, nil
}
