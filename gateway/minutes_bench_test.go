package gateway

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkMinuteRing measures what the console's per-minute ring adds to
// every plugin call: ring.pluginCall alone beside the Prometheus work the
// same call already does (one counter Inc and one histogram Observe, the
// baseline), run in parallel as hook calls are; and one clock reading,
// which the ring avoids by reusing the caller's.
func BenchmarkMinuteRing(b *testing.B) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Buckets: prometheus.DefBuckets})
	r := newMinuteRing()
	end := time.Now() // the caller's clock reading, which the ring reuses
	b.Run("baseline=prometheus", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc()
				h.Observe(0.002)
			}
		})
	})
	b.Run("time.Now", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = time.Now()
			}
		})
	})
	b.Run("ring", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.pluginCall(true, 0, 2*time.Millisecond, end)
			}
		})
	})
}
