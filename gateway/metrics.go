package gateway

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// metrics holds the few counters /metrics exposes today, as plain atomics
// written in the Prometheus text format by hand: counting on the hot path is
// one atomic add, and the gateway needs no metrics library yet. (A later
// issue that adds plugin and queue metrics may move this to
// prometheus/client_golang; the metric names are chosen to survive that.)
type metrics struct {
	batchesOK       atomic.Uint64 // Okta batches answered 200
	batchesRejected atomic.Uint64 // answered 4xx (auth, size, malformed)
	batchesFailed   atomic.Uint64 // answered 5xx (commit failed)
	eventsAccepted  atomic.Uint64
	eventsDuplicate atomic.Uint64
	eventsRejected  atomic.Uint64
	ingestNanos     atomic.Uint64 // sum of time-to-200 for OK batches

	// extra appends more samples (queue and grant gauges); set before Serve.
	extra []func(buf []byte) []byte
}

// AddMetrics registers f to append Prometheus text-format samples to every
// /metrics answer (the event pipeline's queue and grant gauges). Call it
// before Serve.
func (s *Server) AddMetrics(f func(buf []byte) []byte) { s.m.extra = append(s.m.extra, f) }

func newMetrics() *metrics { return &metrics{} }

func (m *metrics) observeBatch(d time.Duration, accepted, duplicates, rejected int) {
	m.batchesOK.Add(1)
	m.eventsAccepted.Add(uint64(accepted))
	m.eventsDuplicate.Add(uint64(duplicates))
	m.eventsRejected.Add(uint64(rejected))
	m.ingestNanos.Add(uint64(d.Nanoseconds()))
}

// serve writes the counters in the Prometheus text exposition format.
func (m *metrics) serve(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	b := ctx.Response.BodyWriter()
	var buf []byte
	buf = append(buf, "# HELP hookgate_okta_batches_total Okta event hook deliveries by outcome.\n"...)
	buf = append(buf, "# TYPE hookgate_okta_batches_total counter\n"...)
	buf = appendSample(buf, `hookgate_okta_batches_total{outcome="ok"}`, m.batchesOK.Load())
	buf = appendSample(buf, `hookgate_okta_batches_total{outcome="rejected"}`, m.batchesRejected.Load())
	buf = appendSample(buf, `hookgate_okta_batches_total{outcome="failed"}`, m.batchesFailed.Load())
	buf = append(buf, "# HELP hookgate_okta_events_total Okta events in acknowledged batches by result.\n"...)
	buf = append(buf, "# TYPE hookgate_okta_events_total counter\n"...)
	buf = appendSample(buf, `hookgate_okta_events_total{result="accepted"}`, m.eventsAccepted.Load())
	buf = appendSample(buf, `hookgate_okta_events_total{result="duplicate"}`, m.eventsDuplicate.Load())
	buf = appendSample(buf, `hookgate_okta_events_total{result="rejected"}`, m.eventsRejected.Load())
	buf = append(buf, "# HELP hookgate_okta_ingest_seconds_sum Total time from request to 200 over acknowledged batches.\n"...)
	buf = append(buf, "# TYPE hookgate_okta_ingest_seconds_sum counter\n"...)
	buf = append(buf, "hookgate_okta_ingest_seconds_sum "...)
	buf = strconv.AppendFloat(buf, float64(m.ingestNanos.Load())/1e9, 'f', 6, 64)
	buf = append(buf, '\n')
	for _, f := range m.extra {
		buf = f(buf)
	}
	_, _ = b.Write(buf)
}

func appendSample(buf []byte, name string, v uint64) []byte {
	buf = append(buf, name...)
	buf = append(buf, ' ')
	buf = strconv.AppendUint(buf, v, 10)
	return append(buf, '\n')
}
