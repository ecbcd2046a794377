package gateway

import (
	"context"
	"log/slog"
	"sync"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/store"
)

// Pipeline wires the durable event work together: [[on_event]]
// subscriptions enqueue plugin runs inside the Okta batch transaction, the
// worker pool drains the queue, and the grant scheduler revokes expired
// time-boxed grants through the deprovisioning route.
type Pipeline struct {
	Worker *Worker
	Events *Events
	Grants *Grants
}

// PipelineOptions are NewPipeline's inputs.
type PipelineOptions struct {
	Config *config.Config
	Store  *store.Store
	// Server gets OnAccepted, OnCommitted and the /v1/dlq, /v1/queue and
	// /v1/grants admin routes. May be nil (tests of the pipeline alone).
	Server *Server
	// Dispatcher runs deprovisioning for expired grants; its OnSuccess is
	// chained to record grants from successful provisioning.
	Dispatcher *Dispatcher
	// Plugins are the loaded plugins (PluginSet.Deciders).
	Plugins map[string]Decider
	// Audit receives one record per event plugin run (nil: none).
	Audit  *store.AuditLog
	Logger *slog.Logger
}

// NewPipeline builds the pipeline and hooks it into the server and the
// dispatcher. Call before Server.Serve; then Run it.
func NewPipeline(o PipelineOptions) *Pipeline {
	w := NewWorker(o.Store, o.Config.Queue, o.Logger)
	p := &Pipeline{
		Worker: w,
		Events: NewEvents(o.Config, o.Store, w, o.Plugins, o.Audit, o.Logger),
		Grants: NewGrants(o.Store, o.Config.Grants, w, o.Dispatcher, o.Logger),
	}
	if d := o.Dispatcher; d != nil {
		prev := d.OnSuccess
		d.OnSuccess = func(kind string, raw []byte, out Outcome) {
			if prev != nil {
				prev(kind, raw, out)
			}
			p.Grants.OnSuccess(kind, raw, out)
		}
	}
	if s := o.Server; s != nil {
		prev := s.OnAccepted
		s.OnAccepted = func(tx *store.Tx, ev *okta.LogEvent) error {
			if prev != nil {
				if err := prev(tx, ev); err != nil {
					return err
				}
			}
			return p.Events.OnAccepted(tx, ev)
		}
		prevC := s.OnCommitted
		s.OnCommitted = func() {
			if prevC != nil {
				prevC()
			}
			p.Worker.Kick()
		}
		p.Worker.RegisterAdmin(s)
		p.Grants.RegisterAdmin(s)
		s.AddMetrics(p.appendMetrics)
	}
	return p
}

// Run drains the queue and scans grant expiries until ctx ends; it
// returns once both stopped (items still running are left leased and run
// again after the next start).
func (p *Pipeline) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() { werr = p.Worker.Run(ctx) })
	wg.Go(func() { _ = p.Grants.Run(ctx) })
	wg.Wait()
	return werr
}

// appendMetrics writes the queue and grant gauges and this run's worker
// counters in the Prometheus text format.
func (p *Pipeline) appendMetrics(buf []byte) []byte {
	st := p.Worker.st
	if qs, err := st.QueueStats(); err == nil {
		buf = append(buf, "# HELP hookgate_queue_items Event queue items by state (dead = dead letters).\n# TYPE hookgate_queue_items gauge\n"...)
		buf = appendSample(buf, `hookgate_queue_items{state="pending"}`, uint64(qs.Pending))
		buf = appendSample(buf, `hookgate_queue_items{state="in_flight"}`, uint64(qs.InFlight))
		buf = appendSample(buf, `hookgate_queue_items{state="dead"}`, uint64(qs.Dead))
	}
	ok, retried, dead := p.Worker.Counts()
	buf = append(buf, "# HELP hookgate_queue_runs_total Queue item runs since start by outcome.\n# TYPE hookgate_queue_runs_total counter\n"...)
	buf = appendSample(buf, `hookgate_queue_runs_total{outcome="success"}`, uint64(ok))
	buf = appendSample(buf, `hookgate_queue_runs_total{outcome="retry"}`, uint64(retried))
	buf = appendSample(buf, `hookgate_queue_runs_total{outcome="dead_letter"}`, uint64(dead))
	if gs, err := st.GrantStats(); err == nil {
		buf = append(buf, "# HELP hookgate_grants Time-boxed grants by state.\n# TYPE hookgate_grants gauge\n"...)
		for _, k := range []string{store.GrantActive, store.GrantRevoked, store.GrantFailed} {
			buf = appendSample(buf, `hookgate_grants{state="`+k+`"}`, uint64(gs[k]))
		}
	}
	return buf
}
