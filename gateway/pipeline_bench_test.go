package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmark shape: deactivation events one delivery at a time, while a
// background sender keeps delivering membership events that a
// "group.*" subscription also queues and runs through the same plugin.
const (
	revBenchEvents     = 200                   // deactivations measured
	revBenchGap        = 10 * time.Millisecond // between deactivations
	revBenchBgPerBatch = 20                    // membership events per background delivery
	revBenchBgEvery    = 50 * time.Millisecond // background delivery interval (≈400 events/s)
)

// BenchmarkRevocationLatency measures, for user.lifecycle.deactivate
// events under a background load of membership events, the time from the
// gateway's 200 to Okta to the revocation request arriving at the
// stand-in downstream API (through the durable queue, a worker and the
// terminate-revoke plugin), p50/p99. In the same run it measures the
// baseline: the same plugin called directly (no HTTP ingest, no queue)
// from call start to the same arrival. Run with -benchtime=1x (make bench).
func BenchmarkRevocationLatency(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runRevocationBench(b)
	}
}

func runRevocationBench(b *testing.B) {
	api := newStandIn(b)
	toml := pipelineTOML(b, map[string]*standIn{"zendesk": api}, nil, 5) + `
[[on_event]]
types = ["group.*"]
plugin = "terminate-revoke"
`
	ts := startFull(b, toml)

	var mu sync.Mutex
	arrived := map[string]chan time.Time{}
	waitFor := func(uuid string) chan time.Time {
		mu.Lock()
		defer mu.Unlock()
		ch := arrived[uuid]
		if ch == nil {
			ch = make(chan time.Time, 1)
			arrived[uuid] = ch
		}
		return ch
	}
	api.mu.Lock()
	api.notify = func(r received) {
		if id, ok := r.Body["event_uuid"].(string); ok {
			select {
			case waitFor(id) <- r.At:
			default:
			}
		}
	}
	api.mu.Unlock()

	// Background membership load.
	ctx, stop := context.WithCancel(context.Background())
	var bgSent atomic.Int64
	var bg sync.WaitGroup
	bg.Go(func() {
		tick := time.NewTicker(revBenchBgEvery)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			evs := make([]map[string]any, revBenchBgPerBatch)
			for i := range evs {
				k := n*revBenchBgPerBatch + i
				evs[i] = membershipEvent(fmt.Sprintf("bg-%d", k), fmt.Sprintf("00ubg%d", k%500), fmt.Sprintf("bg%d@example.com", k%500),
					fmt.Sprintf("00gbg%d", k%20), time.Now())
			}
			code, _, _ := ts.do("POST", ts.Config.Okta.Path, envelopeOf(evs...), "Authorization", testOktaSecret)
			if code == 200 {
				bgSent.Add(int64(len(evs)))
			}
		}
	})

	b.ResetTimer()
	start := time.Now()
	lat := make([]time.Duration, 0, revBenchEvents)
	for i := range revBenchEvents {
		uuid := fmt.Sprintf("deact-%d", i)
		ch := waitFor(uuid)
		body := envelopeOf(userEvent(uuid, "user.lifecycle.deactivate", fmt.Sprintf("00udeact%d", i), fmt.Sprintf("d%d@example.com", i), time.Now()))
		ts.postOkta(body) // returns after the 200
		acked := time.Now()
		select {
		case at := <-ch:
			lat = append(lat, at.Sub(acked))
		case <-time.After(30 * time.Second):
			b.Fatalf("revocation for %s never arrived", uuid)
		}
		time.Sleep(revBenchGap)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	bg.Wait()

	// Baseline: the plugin called directly, same downstream, no queue.
	p := ts.Plugins.Plugin("terminate-revoke")
	base := make([]time.Duration, 0, revBenchEvents)
	for i := range revBenchEvents {
		uuid := fmt.Sprintf("direct-%d", i)
		ch := waitFor(uuid)
		raw, _ := json.Marshal(userEvent(uuid, "user.lifecycle.deactivate", fmt.Sprintf("00udirect%d", i), fmt.Sprintf("x%d@example.com", i), time.Now()))
		t0 := time.Now()
		if _, err := p.Call(context.Background(), "okta_event", raw); err != nil {
			b.Fatal(err)
		}
		base = append(base, (<-ch).Sub(t0))
	}

	slices.Sort(lat)
	slices.Sort(base)
	q := func(s []time.Duration, p int) time.Duration { return s[(len(s)-1)*p/100] }
	b.ReportMetric(float64(q(lat, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(lat, 99).Microseconds())/1000, "p99-ms")
	bgRate := float64(bgSent.Load()) / elapsed.Seconds()
	b.Logf("\nrevocation latency, 200 to Okta -> request at the downstream API (%d deactivations, background %.0f membership events/s queued and run):\n"+
		"  through the gateway queue:  p50 %8s  p99 %8s  max %8s\n"+
		"  plugin called directly:     p50 %8s  p99 %8s  max %8s\n"+
		"  ratio (queue / direct):     p50 %7.1fx  p99 %7.1fx   target p99 < 1s: %v",
		len(lat), bgRate,
		q(lat, 50), q(lat, 99), lat[len(lat)-1],
		q(base, 50), q(base, 99), base[len(base)-1],
		float64(q(lat, 50))/float64(q(base, 50)), float64(q(lat, 99))/float64(q(base, 99)), q(lat, 99) < time.Second)
}
