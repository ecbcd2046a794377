package gateway

// /metrics: Prometheus metrics with the official client, in a registry per
// Server (never the global one, so several servers in one test binary do
// not collide). Hot paths only increment counters resolved ahead of time:
// per Okta event type (the modelled types and "other") the three outcome
// counters are resolved in newMetrics, and per plugin and hook kind the
// outcome counters and duration observer are resolved on first use and
// kept in atomic slots. Gauges that need the store (queue depth, dead
// letters, grants by state) are computed at scrape time by the pipeline's
// collector, cached for at most a second.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/api"
	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/internal/work"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/plugins"
)

// otherEventType is the type label of events outside the modelled types
// (and of rejected events, whose type cannot be trusted): it bounds the
// label's cardinality whatever Okta sends.
const otherEventType = "other"

// Event outcomes (label "result" of hookgate_okta_events_total).
const (
	evAccepted = iota
	evDuplicate
	evRejected
	numEventResults
)

// Event sources (label "source" of hookgate_okta_events_total): the event
// hook's deliveries and System Log catch-up batches.
const (
	srcHook = iota
	srcCatchUp
	numEventSources
)

// eventSources are the "source" label values, by source index.
var eventSources = [numEventSources]string{"hook", "catchup"}

// metrics is one Server's registry and its hot-path instruments.
type metrics struct {
	reg *prometheus.Registry

	batchesOK, batchesRejected, batchesFailed prometheus.Counter
	ingest                                    prometheus.Histogram

	typeIdx map[string]int                                         // modelled type → index; other = len
	events  [numEventSources][][numEventResults]prometheus.Counter // by source, type index

	pluginCalls *prometheus.CounterVec
	pluginDur   *prometheus.HistogramVec
	obsMu       sync.Mutex
	obs         map[string]*pluginObs // by plugin name, kept across reloads

	reloads [2]prometheus.Counter // ok, refused

	// For the console (GET /v1/stats): the last hour by minute, fed where
	// the counters above are incremented; the start time and the time of
	// the last acknowledged Okta delivery (Unix nanoseconds, 0 = none).
	minutes      *minuteRing
	started      time.Time
	lastDelivery atomic.Int64

	// extra appends text-format samples (legacy AddMetrics).
	extra []func(buf []byte) []byte
}

func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{reg: reg, obs: map[string]*pluginObs{}, typeIdx: map[string]int{},
		minutes: newMinuteRing(), started: time.Now()}
	batches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookgate_okta_batches_total",
		Help: "Okta event hook deliveries by outcome (ok: 200 after commit; rejected: 4xx; failed: 5xx).",
	}, []string{"outcome"})
	m.batchesOK = batches.WithLabelValues("ok")
	m.batchesRejected = batches.WithLabelValues("rejected")
	m.batchesFailed = batches.WithLabelValues("failed")
	m.ingest = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookgate_okta_ingest_seconds",
		Help:    "Time from request to 200 for acknowledged Okta batches (parse, one synced Badger commit).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookgate_okta_events_total",
		Help: `Okta events by source (hook: acknowledged event hook batches; catchup: System Log catch-up batches), type (the modelled types, else "other") and result (accepted, duplicate, rejected).`,
	}, []string{"source", "type", "result"})
	types := append(append([]string(nil), okta.CatchUpEventTypes...), otherEventType)
	for i, t := range types {
		if t != otherEventType {
			m.typeIdx[t] = i
		}
	}
	for src, sl := range eventSources {
		m.events[src] = make([][numEventResults]prometheus.Counter, len(types))
		for i, t := range types {
			m.events[src][i][evAccepted] = events.WithLabelValues(sl, t, "accepted")
			m.events[src][i][evDuplicate] = events.WithLabelValues(sl, t, "duplicate")
		}
		// A rejected event's type cannot be trusted: rejected counts only as "other".
		m.events[src][len(types)-1][evRejected] = events.WithLabelValues(sl, otherEventType, "rejected")
	}
	m.pluginCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookgate_plugin_calls_total",
		Help: "Plugin calls by plugin, kind (hook kind or okta_event) and outcome (success, failure, timeout, trap, memory, canceled, closed, no_handler, bad_output, guest_error, error).",
	}, []string{"plugin", "kind", "outcome"})
	m.pluginDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hookgate_plugin_call_seconds",
		Help:    "Plugin call duration (including any wait for a free instance) by plugin and kind.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"plugin", "kind"})
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookgate_reloads_total",
		Help: "Configuration reloads (SIGHUP, POST /v1/reload) by outcome (ok, refused).",
	}, []string{"outcome"})
	m.reloads = [2]prometheus.Counter{reloads.WithLabelValues("ok"), reloads.WithLabelValues("refused")}
	reg.MustRegister(batches, m.ingest, events, m.pluginCalls, m.pluginDur, reloads,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&serverCollector{s: s})
	return m
}

// Registry is the server's Prometheus registry: register more collectors
// here (before or after Serve) and they appear on /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.m.reg }

// AddMetrics registers f to append Prometheus text-format samples after
// the registry's output on every /metrics answer. Prefer Registry; this
// stays for callers written before it. Call it before Serve.
func (s *Server) AddMetrics(f func(buf []byte) []byte) { s.m.extra = append(s.m.extra, f) }

// eventType maps an Okta event type to its label index.
func (m *metrics) eventType(t string) int {
	if i, ok := m.typeIdx[t]; ok {
		return i
	}
	return len(m.events[srcHook]) - 1
}

// observeBatch counts one acknowledged event hook batch: its time to 200
// and its events (source "hook"). It does not allocate.
func (m *metrics) observeBatch(d time.Duration, b *okta.Batch, res okta.IngestResult) {
	m.batchesOK.Inc()
	m.ingest.Observe(d.Seconds())
	m.lastDelivery.Store(time.Now().UnixNano())
	m.observeEvents(srcHook, b, res)
}

// observeEvents counts one ingested batch's events from source src by type
// and result. Duplicates per type are the batch's events of that type
// minus those accepted. It does not allocate.
func (m *metrics) observeEvents(src int, b *okta.Batch, res okta.IngestResult) {
	events := m.events[src]
	var seen, acc [64]int
	if len(events) > len(seen) {
		return // more modelled types than this array: never the case
	}
	for _, ev := range b.Events {
		seen[m.eventType(ev.EventType)]++
	}
	total := 0
	for t, n := range res.Types {
		acc[m.eventType(t)] += n
		total += n
	}
	m.minutes.events(total, res.Rejected)
	for i := range events {
		if acc[i] > 0 {
			events[i][evAccepted].Add(float64(acc[i]))
		}
		if dup := seen[i] - acc[i]; dup > 0 {
			events[i][evDuplicate].Add(float64(dup))
		}
	}
	if res.Rejected > 0 {
		events[len(events)-1][evRejected].Add(float64(res.Rejected))
	}
}

// serve writes the registry in the Prometheus text format.
func (m *metrics) serve(ctx *fasthttp.RequestCtx) {
	mfs, err := m.reg.Gather()
	if err != nil && len(mfs) == 0 {
		writeError(ctx, fasthttp.StatusInternalServerError, "gather metrics: "+err.Error())
		return
	}
	ctx.SetContentType(string(expfmt.FmtText))
	w := ctx.Response.BodyWriter()
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return
		}
	}
	if len(m.extra) > 0 {
		var buf []byte
		for _, f := range m.extra {
			buf = f(buf)
		}
		_, _ = w.Write(buf)
	}
}

// Plugin call kinds and outcomes, as label values and slot indexes.
var (
	callKinds    = append(append([]string(nil), config.Kinds...), work.ItemOktaEvent)
	callOutcomes = []string{"success", "failure", "timeout", "trap", "memory", "canceled", "closed",
		"no_handler", "bad_output", "guest_error", "error"}
)

const maxCallKinds, maxCallOutcomes = 8, 16

// pluginObs holds one plugin's instruments, resolved on first use per
// (kind, outcome) so only combinations that happened are exposed.
type pluginObs struct {
	m     *metrics
	name  string
	calls [maxCallKinds][maxCallOutcomes]atomic.Pointer[prometheus.Counter]
	dur   [maxCallKinds]atomic.Pointer[prometheus.Observer]

	errMu sync.Mutex
	errs  [maxLastErrors]api.PluginError // ring of the latest errors
	nerrs int                            // errors recorded in total
}

// maxLastErrors is how many of a plugin's latest call errors are kept for
// GET /v1/plugins.
const maxLastErrors = 5

// lastErrors returns the plugin's latest call errors, newest first.
func (o *pluginObs) lastErrors() []api.PluginError {
	o.errMu.Lock()
	defer o.errMu.Unlock()
	out := []api.PluginError{}
	for i := 1; i <= min(o.nerrs, maxLastErrors); i++ {
		out = append(out, o.errs[(o.nerrs-i)%maxLastErrors])
	}
	return out
}

func callKind(kind string) int {
	for i, k := range callKinds {
		if k == kind {
			return i
		}
	}
	return -1
}

// callOutcome classifies a Decide result.
func callOutcome(dec hook.Decision, err error) int {
	switch {
	case err == nil && dec.Success:
		return 0
	case err == nil:
		return 1
	case errors.Is(err, plugins.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return 2
	case errors.Is(err, plugins.ErrTrap):
		return 3
	case errors.Is(err, plugins.ErrMemory):
		return 4
	case errors.Is(err, plugins.ErrCanceled), errors.Is(err, context.Canceled):
		return 5
	case errors.Is(err, plugins.ErrClosed):
		return 6
	case errors.Is(err, plugins.ErrNoHandler):
		return 7
	case errors.Is(err, plugins.ErrBadOutput), errors.Is(err, plugins.ErrOutputTooLarge):
		return 8
	case errors.Is(err, plugins.ErrGuest):
		return 9
	}
	return 10
}

func (o *pluginObs) observe(kind string, dec hook.Decision, err error, d time.Duration, end time.Time) {
	k := callKind(kind)
	if k < 0 {
		return
	}
	oc := callOutcome(dec, err)
	c := o.calls[k][oc].Load()
	if c == nil {
		v := o.m.pluginCalls.WithLabelValues(o.name, callKinds[k], callOutcomes[oc])
		c = &v
		o.calls[k][oc].Store(c)
	}
	(*c).Inc()
	h := o.dur[k].Load()
	if h == nil {
		v := o.m.pluginDur.WithLabelValues(o.name, callKinds[k])
		h = &v
		o.dur[k].Store(h)
	}
	(*h).Observe(d.Seconds())
	o.m.minutes.pluginCall(callKinds[k] != work.ItemOktaEvent, oc, d, end)
	// Errors, and event plugin failures (the queue retries those as errors).
	if err != nil || (oc == 1 && callKinds[k] == work.ItemOktaEvent) {
		e := dec.Message
		if err != nil {
			e = err.Error()
		}
		if len(e) > 1000 {
			e = e[:1000] + "…"
		}
		o.errMu.Lock()
		o.errs[o.nerrs%maxLastErrors] = api.PluginError{Time: end, Kind: callKinds[k], Outcome: callOutcomes[oc], Error: e}
		o.nerrs++
		o.errMu.Unlock()
	}
}

// instrumentedDecider counts and times every call of a Decider.
type instrumentedDecider struct {
	inner hook.Decider
	obs   *pluginObs
}

// Decide calls the plugin and records the outcome and duration.
func (d *instrumentedDecider) Decide(ctx context.Context, kind string, raw []byte, req *hook.HookRequest) (hook.Decision, error) {
	start := time.Now()
	dec, err := d.inner.Decide(ctx, kind, raw, req)
	end := time.Now()
	d.obs.observe(kind, dec, err, end.Sub(start), end)
	return dec, err
}

// Unwrap returns the measured decider (hook.Dispatcher sees through it to
// a start-up placeholder).
func (d *instrumentedDecider) Unwrap() hook.Decider { return d.inner }

// instrument wraps d's plugins so their calls are measured. Call before
// d serves its first request.
func (m *metrics) instrument(d *hook.Dispatcher) {
	m.obsMu.Lock()
	defer m.obsMu.Unlock()
	d.WrapPlugins(func(name string, dec hook.Decider) hook.Decider {
		if _, ok := dec.(*instrumentedDecider); ok {
			return dec
		}
		o := m.obs[name]
		if o == nil {
			o = &pluginObs{m: m, name: name}
			m.obs[name] = o
		}
		return &instrumentedDecider{inner: dec, obs: o}
	})
}

// serverCollector exposes the current generation and its plugin pools,
// read at scrape time.
type serverCollector struct{ s *Server }

var (
	descGeneration = prometheus.NewDesc("hookgate_config_generation",
		"Configuration generation serving requests (1 at start-up, +1 per successful reload).", nil, nil)
	descPoolSize = prometheus.NewDesc("hookgate_plugin_pool_size",
		"Configured instances per plugin.", []string{"plugin"}, nil)
	descPoolInstances = prometheus.NewDesc("hookgate_plugin_pool_instances",
		"Plugin instances by state (idle, in_use, replacing).", []string{"plugin", "state"}, nil)
	descPoolWaiting = prometheus.NewDesc("hookgate_plugin_pool_waiting",
		"Callers waiting for a free plugin instance.", []string{"plugin"}, nil)
	descPoolReplaced = prometheus.NewDesc("hookgate_plugin_instances_replaced_total",
		"Instances discarded (trap, timeout, memory) and replaced since the plugin was loaded (resets on reload).", []string{"plugin"}, nil)
)

// Describe sends the descriptors.
func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descGeneration
	ch <- descPoolSize
	ch <- descPoolInstances
	ch <- descPoolWaiting
	ch <- descPoolReplaced
}

// Collect reads the current generation.
func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	g := c.s.gen.Load()
	if g == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descGeneration, prometheus.GaugeValue, float64(g.Seq))
	for _, p := range g.loaded {
		st := p.Stats()
		n := p.Name()
		ch <- prometheus.MustNewConstMetric(descPoolSize, prometheus.GaugeValue, float64(st.PoolSize), n)
		ch <- prometheus.MustNewConstMetric(descPoolInstances, prometheus.GaugeValue, float64(st.Idle), n, "idle")
		ch <- prometheus.MustNewConstMetric(descPoolInstances, prometheus.GaugeValue, float64(st.InUse), n, "in_use")
		ch <- prometheus.MustNewConstMetric(descPoolInstances, prometheus.GaugeValue,
			float64(max(0, st.PoolSize-st.Idle-st.InUse)), n, "replacing")
		ch <- prometheus.MustNewConstMetric(descPoolWaiting, prometheus.GaugeValue, float64(st.Waiting), n)
		ch <- prometheus.MustNewConstMetric(descPoolReplaced, prometheus.CounterValue, float64(st.Replaced), n)
	}
}
