package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
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
	// Server gets PlanWork, OnCommitted and the /v1/dlq, /v1/queue and
	// /v1/grants admin routes. May be nil (tests of the pipeline alone).
	Server *Server
	// Dispatcher runs deprovisioning for expired grants; its OnSuccess is
	// chained to record grants from successful provisioning.
	Dispatcher *hook.Dispatcher
	// Plugins are the loaded plugins (PluginSet.Deciders).
	Plugins map[string]hook.Decider
	// Audit receives one record per event plugin run (nil: none).
	Audit  *store.AuditLog
	Logger *slog.Logger
}

// NewPipeline builds the pipeline and hooks it into the server and the
// dispatcher. Call before Server.Serve; then Run it.
func NewPipeline(o PipelineOptions) *Pipeline {
	w := NewWorker(o.Store, o.Config.Queue, o.Logger)
	var hooks HookDispatcher = o.Dispatcher
	if o.Server != nil {
		// Expired grants are deprovisioned by the current generation's
		// dispatcher (live reload).
		hooks = currentDispatcher{s: o.Server, fallback: o.Dispatcher}
	}
	p := &Pipeline{
		Worker: w,
		Events: NewEvents(o.Config, o.Store, w, o.Plugins, o.Audit, o.Logger),
		Grants: NewGrants(o.Store, o.Config.Grants, w, hooks, o.Logger),
	}
	p.Events.srv = o.Server
	if d := o.Dispatcher; d != nil {
		prev := d.OnSuccess
		d.OnSuccess = func(kind string, req *hook.HookRequest, raw []byte, out hook.Outcome) error {
			if prev != nil {
				if err := prev(kind, req, raw, out); err != nil {
					return err
				}
			}
			return p.Grants.OnSuccess(kind, req, raw, out)
		}
	}
	if s := o.Server; s != nil {
		prev := s.PlanWork
		s.PlanWork = func(ev *okta.LogEvent) ([]store.QueueItem, error) {
			var items []store.QueueItem
			if prev != nil {
				var err error
				if items, err = prev(ev); err != nil {
					return nil, err
				}
			}
			more, err := p.Events.PlanWork(ev)
			return append(items, more...), err
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
		s.m.reg.MustRegister(&pipelineCollector{p: p})
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

// currentDispatcher dispatches on the current generation's dispatcher,
// holding the generation for the call.
type currentDispatcher struct {
	s        *Server
	fallback *hook.Dispatcher
}

// Dispatch runs one hook on the current generation.
func (c currentDispatcher) Dispatch(ctx context.Context, kind string, raw []byte, via string) (hook.Outcome, error) {
	g := c.s.acquire()
	defer g.release()
	d := g.Dispatcher
	if d == nil {
		d = c.fallback
	}
	if d == nil {
		return hook.Outcome{Kind: kind}, fmt.Errorf("%s: inline hooks are not enabled on this server", kind)
	}
	return d.Dispatch(ctx, kind, raw, via)
}

// pipelineCollector exposes the queue and grant gauges and this run's
// worker counters. The gauges scan the store, so they are computed at most
// once per second whatever the scrape rate.
type pipelineCollector struct {
	p *Pipeline

	mu    sync.Mutex
	at    time.Time
	qs    store.QueueStats
	qsErr error
	gs    map[string]int
	gsErr error
}

var (
	descQueueItems = prometheus.NewDesc("hookgate_queue_items",
		"Event queue items by state: pending (queued or waiting for a retry), in_flight (leased to a worker), dead (dead letters).", []string{"state"}, nil)
	descQueueRuns = prometheus.NewDesc("hookgate_queue_runs_total",
		"Queue item runs since start by outcome (success, retry, dead_letter).", []string{"outcome"}, nil)
	descGrants = prometheus.NewDesc("hookgate_grants",
		"Time-boxed grants by state (active, revoked, failed).", []string{"state"}, nil)
)

// Describe sends the descriptors.
func (c *pipelineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descQueueItems
	ch <- descQueueRuns
	ch <- descGrants
}

// Collect reads the (cached) store counts and the live worker counters.
func (c *pipelineCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) >= time.Second {
		c.qs, c.qsErr = c.p.Worker.st.QueueStats()
		c.gs, c.gsErr = c.p.Worker.st.GrantStats()
		c.at = time.Now()
	}
	qs, qsErr, gs, gsErr := c.qs, c.qsErr, c.gs, c.gsErr
	c.mu.Unlock()
	if qsErr == nil {
		ch <- prometheus.MustNewConstMetric(descQueueItems, prometheus.GaugeValue, float64(qs.Pending), "pending")
		ch <- prometheus.MustNewConstMetric(descQueueItems, prometheus.GaugeValue, float64(qs.InFlight), "in_flight")
		ch <- prometheus.MustNewConstMetric(descQueueItems, prometheus.GaugeValue, float64(qs.Dead), "dead")
	} else {
		ch <- prometheus.NewInvalidMetric(descQueueItems, qsErr)
	}
	ok, retried, dead := c.p.Worker.Counts()
	ch <- prometheus.MustNewConstMetric(descQueueRuns, prometheus.CounterValue, float64(ok), "success")
	ch <- prometheus.MustNewConstMetric(descQueueRuns, prometheus.CounterValue, float64(retried), "retry")
	ch <- prometheus.MustNewConstMetric(descQueueRuns, prometheus.CounterValue, float64(dead), "dead_letter")
	if gsErr == nil {
		for _, k := range []string{store.GrantActive, store.GrantRevoked, store.GrantFailed} {
			ch <- prometheus.MustNewConstMetric(descGrants, prometheus.GaugeValue, float64(gs[k]), k)
		}
	} else {
		ch <- prometheus.NewInvalidMetric(descGrants, gsErr)
	}
}
