package work

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate/store"
)

// Pipeline is the durable event work: [[on_event]] subscriptions plan
// plugin runs that the store enqueues inside the Okta batch transaction,
// the worker pool drains the queue, and the grant scheduler revokes expired
// time-boxed grants through the deprovisioning route.
type Pipeline struct {
	Worker *Worker
	Events *Events
	Grants *Grants
}

// Options are New's inputs.
type Options struct {
	Store *store.Store
	// Queue and Grants are the [queue] and [grants] settings.
	Queue  QueueOptions
	Grants GrantOptions
	// Hooks runs the deprovisioning route for expired grants (the
	// gateway's current dispatcher).
	Hooks HookDispatcher
	// Live supplies the [[on_event]] subscriptions and the plugins that
	// run them.
	Live Live
	// Audit receives one record per event plugin run (nil: none).
	Audit  *store.AuditLog
	Logger *slog.Logger
}

// New builds the pipeline: the worker pool with the okta_event and
// deprovision-grant handlers registered. Give p.Grants to the dispatcher
// (hook.DispatcherOptions.Recorder) so successful provisioning records
// grants, p.Events.PlanWork to the Okta ingest path and p.Worker.Kick to
// what commits new work; then Run it.
func New(o Options) *Pipeline {
	w := NewWorker(o.Store, o.Queue, o.Logger)
	return &Pipeline{
		Worker: w,
		Events: NewEvents(o.Store, w, o.Live, o.Audit, o.Logger),
		Grants: NewGrants(o.Store, o.Grants, w, o.Hooks, o.Logger),
	}
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

// Collector returns the queue and grant gauges and this run's worker
// counters for /metrics.
func (p *Pipeline) Collector() prometheus.Collector { return &pipelineCollector{p: p} }

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
