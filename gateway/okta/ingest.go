package okta

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/hookgate/hookgate/store"
)

// IngestOptions configures Ingest.
type IngestOptions struct {
	// Retention is how long accepted events and their dedupe markers are
	// kept (0 = forever). A redelivery after it expires is applied again,
	// which the last-writer-wins state absorbs.
	Retention time.Duration
	// OnAccepted, when set, runs in the batch's transaction for each newly
	// accepted (non-duplicate) event, after Apply; plugin work is enqueued
	// here so it commits atomically with the event. It may run more than
	// once per event when the transaction is retried after a conflict, so
	// it must only write through tx.
	OnAccepted func(tx *store.Tx, ev *LogEvent) error
	// Now stamps the received time. Default: time.Now.
	Now func() time.Time
}

// IngestResult counts what Ingest did with a batch.
type IngestResult struct {
	Accepted   int            // new events logged and applied
	Duplicates int            // events whose uuid was already seen (also within the batch)
	Rejected   int            // malformed events kept aside with a reason
	Types      map[string]int // accepted events per eventType
	// Lookups are users worth reading from the Management API now: those
	// a user.account.update_profile event names (Okta sends the changed
	// attributes' names, not their values) and those first seen in this
	// batch (known only from an event target). In batch order, without
	// duplicates.
	Lookups []string
}

// unit is one thing a batch commits: a rejected element or an event.
type unit struct {
	rej *RejectedEvent
	ev  *LogEvent
}

// Ingest durably applies a parsed batch: in one transaction committed with
// synced writes it records the rejected elements, and for each event in
// envelope order skips it if its uuid was seen (in the store or earlier in
// the batch), otherwise logs it, applies it to identity state, runs
// OnAccepted and raises the last-applied watermark. It returns only after
// the commit, so the caller may acknowledge the delivery.
//
// Concurrent calls are safe: Badger conflicts re-run the transaction from
// scratch. A batch too big for one Badger transaction is split into several
// commits in envelope order, all committed before Ingest returns; if one of
// them fails, the earlier ones stay committed (a redelivery is deduplicated).
func Ingest(st *store.Store, b *Batch, opt IngestOptions) (IngestResult, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	received := now().UTC()
	units := make([]unit, 0, len(b.Rejected)+len(b.Events))
	for i := range b.Rejected {
		units = append(units, unit{rej: &b.Rejected[i]})
	}
	for _, ev := range b.Events {
		units = append(units, unit{ev: ev})
	}
	total := IngestResult{Types: map[string]int{}}
	err := ingestUnits(st, b.EnvelopeID, units, received, opt, &total)
	if err != nil {
		return total, fmt.Errorf("okta: ingest envelope %q: %w", b.EnvelopeID, err)
	}
	return total, nil
}

// ingestUnits commits units in one transaction, halving on ErrTxnTooBig.
func ingestUnits(st *store.Store, envID string, units []unit, received time.Time, opt IngestOptions, total *IngestResult) error {
	var res IngestResult
	err := st.Write(func(tx *store.Tx) error {
		res = IngestResult{Types: map[string]int{}} // the closure may run again
		return ingestTx(tx, envID, units, received, opt, &res)
	})
	if errors.Is(err, badger.ErrTxnTooBig) && len(units) > 1 {
		mid := len(units) / 2
		if err := ingestUnits(st, envID, units[:mid], received, opt, total); err != nil {
			return err
		}
		return ingestUnits(st, envID, units[mid:], received, opt, total)
	}
	if err != nil {
		return err
	}
	total.Accepted += res.Accepted
	total.Duplicates += res.Duplicates
	total.Rejected += res.Rejected
	for t, n := range res.Types {
		total.Types[t] += n
	}
	for _, id := range res.Lookups {
		if !slices.Contains(total.Lookups, id) {
			total.Lookups = append(total.Lookups, id)
		}
	}
	return nil
}

func ingestTx(tx *store.Tx, envID string, units []unit, received time.Time, opt IngestOptions, res *IngestResult) error {
	var newest time.Time
	for _, u := range units {
		if u.rej != nil {
			if err := tx.RecordRejected(store.Rejected{
				EnvelopeID: envID, Index: u.rej.Index, Reason: u.rej.Reason,
				Received: received, Raw: u.rej.Raw,
			}); err != nil {
				return err
			}
			res.Rejected++
			continue
		}
		ev := u.ev
		raw := ev.Raw
		if len(raw) == 0 {
			var err error
			if raw, err = json.Marshal(ev); err != nil {
				return fmt.Errorf("encode event %s: %w", ev.UUID, err)
			}
		}
		if err := Validate(ev); err != nil {
			// Only a hand-built batch gets here; the parser rejects these.
			if err := tx.RecordRejected(store.Rejected{
				EnvelopeID: envID, Index: ev.index, Reason: err.Error(),
				Received: received, Raw: raw,
			}); err != nil {
				return err
			}
			res.Rejected++
			continue
		}
		seen, err := tx.SeenEvent(ev.UUID)
		if err != nil {
			return err
		}
		if seen {
			res.Duplicates++
			continue
		}
		if err := tx.RecordEvent(store.EventRecord{
			UUID: ev.UUID, Type: ev.EventType, Published: ev.Published, PublishedText: ev.PublishedText,
			Received: received, Raw: raw,
		}, opt.Retention); err != nil {
			return err
		}
		if err := Apply(tx, ev); err != nil {
			return err
		}
		if opt.OnAccepted != nil {
			if err := opt.OnAccepted(tx, ev); err != nil {
				return fmt.Errorf("on accepted %s %s: %w", ev.EventType, ev.UUID, err)
			}
		}
		if ev.EventType == "user.account.update_profile" {
			if u := ev.TargetOf(TargetUser); u != nil && !slices.Contains(res.Lookups, u.ID) {
				res.Lookups = append(res.Lookups, u.ID)
			}
		}
		res.Accepted++
		res.Types[ev.EventType]++
		if ev.Published.After(newest) {
			newest = ev.Published
		}
	}
	for _, id := range tx.NewUsers() {
		if !slices.Contains(res.Lookups, id) {
			res.Lookups = append(res.Lookups, id)
		}
	}
	return tx.SetLastAppliedPublished(newest)
}
