package work

// Time-boxed grants: a provisioning hook that succeeds with an
// access_length records a grant; one scheduler scans the grant expiry index
// in Badger every grants.scan_interval (and right after start-up, so grants
// that expired while the gateway was down are handled at once) and moves
// each expired grant into the durable queue as a "deprovision-grant" item in
// the same transaction. The worker pool then runs the deprovisioning route
// with the original payload, retrying with backoff and dead-lettering like
// any event work; the grant becomes "revoked" in the transaction that
// completes the item, or "failed" in the one that dead-letters it.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/sdk/abi"
	"github.com/hookgate/hookgate/store"
)

// Who revoked a grant ("via" in the audit log).
const (
	ViaGrantExpiry = "grant-expiry"
	ViaAdmin       = "admin"
)

// HookDispatcher runs one inline hook through routing, the plugin and the
// audit log; *hook.Dispatcher implements it.
type HookDispatcher interface {
	Dispatch(ctx context.Context, kind string, raw []byte, via string) (hook.Outcome, error)
}

// Grants records time-boxed grants and revokes them when they expire.
type Grants struct {
	st       *store.Store
	w        *Worker
	hooks    HookDispatcher
	interval time.Duration
	log      *slog.Logger
}

// NewGrants wires grant expiry to hooks (the deprovisioning route) and
// registers the "deprovision-grant" queue handler on w.
func NewGrants(st *store.Store, cfg GrantOptions, w *Worker, hooks HookDispatcher, logger *slog.Logger) *Grants {
	if logger == nil {
		logger = slog.Default()
	}
	g := &Grants{st: st, w: w, hooks: hooks, interval: cfg.ScanInterval.Duration, log: logger.With("component", "grants")}
	if g.interval <= 0 {
		g.interval = DefaultGrantScanInterval
	}
	w.Handle(ItemDeprovisionGrant, QueueHandler{Run: g.runDeprovision, Done: g.markRevoked, Dead: g.markFailed})
	return g
}

// grantJob is the payload of a deprovision-grant queue item.
type grantJob struct {
	Via string `json:"via"`
}

// OnSuccess makes Grants the dispatcher's hook.SuccessRecorder: a successful provisioning
// with access_length > 0 becomes an active grant expiring access_length
// seconds from now. If the grant cannot be stored the error makes the
// dispatcher answer with the failure literal, so the caller never believes
// an un-expiring grant is time-boxed.
func (g *Grants) OnSuccess(kind string, req *hook.HookRequest, raw []byte, out hook.Outcome) error {
	if kind != abi.KindProvisioning {
		return nil
	}
	gr, err := g.Record(req, raw, out.Plugin, time.Now())
	if err != nil {
		g.log.Error("could not record time-boxed grant; answering failure", "err", err, "plugin", out.Plugin)
		return err
	}
	if gr != nil {
		g.log.Info("time-boxed grant recorded", "grant", gr.ID, "user", gr.User, "app", gr.App,
			"permissions", gr.Permissions, "expires_at", gr.ExpiresAt)
	}
	return nil
}

// Record stores the grant a successful provisioning request describes (req
// as the Dispatcher parsed it; raw, its body, is kept on the grant for the
// deprovisioning replay), or returns nil when it has no positive
// access_length (permanent access).
func (g *Grants) Record(req *hook.HookRequest, raw []byte, plugin string, now time.Time) (*store.Grant, error) {
	if req.AccessLength == nil || *req.AccessLength <= 0 {
		return nil, nil
	}
	if *req.AccessLength > hook.MaxAccessLength { // ParseHookRequest refuses it already
		return nil, fmt.Errorf("grant: access_length %d exceeds %d seconds", *req.AccessLength, hook.MaxAccessLength)
	}
	gr := &store.Grant{
		User:        req.TargetUser.Email,
		App:         req.Application.AppID,
		Permissions: req.PermissionValues(),
		Plugin:      plugin,
		State:       store.GrantActive,
		GrantedAt:   now.UTC(),
		ExpiresAt:   now.Add(time.Duration(*req.AccessLength) * time.Second).UTC(),
		Request:     append(json.RawMessage(nil), raw...),
	}
	if u, err := g.st.LookupUser(gr.User); err == nil && u != nil {
		gr.UserID = u.ID
	}
	if err := g.st.PutGrant(gr); err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	return gr, nil
}

// Run scans for expired grants at once and then every scan interval until
// ctx ends.
func (g *Grants) Run(ctx context.Context) error {
	t := time.NewTicker(g.interval)
	defer t.Stop()
	for {
		if n, err := g.Scan(time.Now()); err != nil {
			g.log.Error("grant expiry scan failed", "err", err)
		} else if n > 0 {
			g.w.Kick()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan queues the deprovisioning of every active grant expired at now and
// returns how many it queued.
func (g *Grants) Scan(now time.Time) (int, error) {
	total := 0
	for {
		got, err := g.st.ClaimExpiredGrants(now, 256, deprovisionItem(ViaGrantExpiry))
		if err != nil {
			return total, err
		}
		for _, gr := range got {
			g.log.Info("grant expired; deprovisioning queued", "grant", gr.ID, "user", gr.User, "app", gr.App, "expired_at", gr.ExpiresAt)
		}
		total += len(got)
		if len(got) < 256 {
			return total, nil
		}
	}
}

// deprovisionItem is the queue item template of a grant's deprovisioning
// (the store fills in Key "grant-<id>", Ref and Plugin per grant).
func deprovisionItem(via string) *store.QueueItem {
	payload, _ := json.Marshal(grantJob{Via: via})
	return &store.QueueItem{Kind: ItemDeprovisionGrant, Payload: payload}
}

// runDeprovision is the deprovision-grant queue handler.
func (g *Grants) runDeprovision(ctx context.Context, it *store.QueueItem) (string, error) {
	gr, err := g.st.Grant(it.Ref)
	if err != nil {
		return "", err
	}
	if gr.State == store.GrantRevoked {
		return "grant already revoked", nil
	}
	var job grantJob
	_ = json.Unmarshal(it.Payload, &job)
	if job.Via == "" {
		job.Via = ViaGrantExpiry
	}
	msg, err := g.deprovision(ctx, gr, job.Via)
	if err != nil {
		// Show the failure on the grant while it is being retried.
		if _, uerr := g.st.TransitionGrant(store.OpGrantTransition{ID: gr.ID, LastError: err.Error()}); uerr != nil {
			g.log.Error("could not record deprovisioning failure on grant", "grant", gr.ID, "err", uerr)
		}
	}
	return msg, err
}

// deprovision runs the deprovisioning route for gr's original request.
func (g *Grants) deprovision(ctx context.Context, gr *store.Grant, via string) (string, error) {
	out, err := g.hooks.Dispatch(ctx, abi.KindDeprovisioning, gr.Request, via)
	switch {
	case err != nil:
		return "", fmt.Errorf("deprovisioning grant %s: %w", gr.ID, err)
	case out.Err != nil:
		return "", fmt.Errorf("deprovisioning grant %s: %w", gr.ID, out.Err)
	case !out.Success:
		return "", fmt.Errorf("deprovisioning grant %s: plugin %s declined: %s", gr.ID, out.Plugin, out.Message)
	}
	return fmt.Sprintf("grant %s revoked by plugin %s: %s", gr.ID, out.Plugin, out.Message), nil
}

// markRevoked is the grant change committed with a completed
// deprovisioning: revoked now, by the job's via.
func (g *Grants) markRevoked(it *store.QueueItem, _ string) *store.OpGrantTransition {
	var job grantJob
	_ = json.Unmarshal(it.Payload, &job)
	return &store.OpGrantTransition{ID: it.Ref, To: store.GrantRevoked, At: time.Now(), By: job.Via, IgnoreMissing: true}
}

// markFailed is the grant change committed with a dead-lettered
// deprovisioning.
func (g *Grants) markFailed(it *store.QueueItem, lastErr string) *store.OpGrantTransition {
	return &store.OpGrantTransition{ID: it.Ref, To: store.GrantFailed, LastError: lastErr, IgnoreMissing: true}
}

// Revoke runs the deprovisioning of grant id now (the admin API), and marks
// it revoked when it succeeds. A failure leaves the grant's state as it was
// (an active grant is still revoked on expiry) and records the error.
func (g *Grants) Revoke(ctx context.Context, id string) (*store.Grant, error) {
	gr, err := g.st.Grant(id)
	if err != nil {
		return nil, err
	}
	if gr.State == store.GrantRevoked {
		return gr, nil
	}
	if _, err := g.deprovision(ctx, gr, ViaAdmin); err != nil {
		_, _ = g.st.TransitionGrant(store.OpGrantTransition{ID: id, LastError: err.Error()})
		return gr, err
	}
	return g.st.TransitionGrant(store.OpGrantTransition{ID: id, To: store.GrantRevoked, At: time.Now(), By: ViaAdmin})
}
