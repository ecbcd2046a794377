package gateway_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/okta/oktagen"
	"github.com/hookgate/hookgate/store"
)

// Benchmark shape (issue 3): batches of 50 events, 20 concurrent senders.
const (
	benchSenders   = 20
	benchPerBatch  = 50
	benchBatches   = 60 // per sender
	benchGroupsPer = 10 // groups per sender the generated users join
)

// BenchmarkIngestHTTP measures events per second durably ingested over
// HTTP (20 senders, 50 events per batch, each batch one synced Badger
// commit before its 200) and the p50/p99 time-to-200, then, in the same
// run, raw Badger synced commits of the same writes: the same number of
// transactions with the same number of keys and bytes per transaction as
// the HTTP run left in the store, from 20 concurrent committers. It prints
// both and their ratio. Run it with -benchtime=1x (make bench): one
// iteration is the whole fixed workload.
func BenchmarkIngestHTTP(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runIngestBench(b)
	}
}

func runIngestBench(b *testing.B) {
	ts := startServer(b, "")
	bodies := make([][][]byte, benchSenders)
	for s := range bodies {
		bodies[s] = make([][]byte, benchBatches)
		for k := range bodies[s] {
			evs := make([]oktagen.Event, benchPerBatch)
			for i := range evs {
				n := (s*benchBatches+k)*benchPerBatch + i
				evs[i] = oktagen.MembershipAdd(oktagen.UUID(7, n),
					time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC).Add(time.Duration(n)*time.Millisecond),
					n, s*benchGroupsPer+i%benchGroupsPer)
			}
			bodies[s][k] = oktagen.Envelope("bench-"+strconv.Itoa(s)+"-"+strconv.Itoa(k), evs...)
		}
	}
	client := &fasthttp.HostClient{Addr: ts.URL[len("http://"):], MaxConns: benchSenders * 2}
	path := ts.URL + ts.Config.Okta.Path

	lat := make([][]time.Duration, benchSenders)
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for s := 0; s < benchSenders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for _, body := range bodies[s] {
				req.Reset()
				req.SetRequestURI(path)
				req.Header.SetMethod("POST")
				req.Header.Set("Authorization", testOktaSecret)
				req.Header.SetContentType("application/json")
				req.SetBodyRaw(body)
				t0 := time.Now()
				err := client.Do(req, resp)
				d := time.Since(t0)
				if err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
					continue
				}
				lat[s] = append(lat[s], d)
			}
		}()
	}
	wg.Wait()
	httpElapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d batches failed", n)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	batches := benchSenders * benchBatches
	events := batches * benchPerBatch
	httpRate := float64(events) / httpElapsed.Seconds()

	// What did one batch write? Count keys and bytes in the store.
	keys, bytes := countKeys(b, ts.Store)
	keysPerTxn := max(1, keys/batches)
	valSize := max(1, bytes/max(1, keys))

	rawElapsed, rawLat := rawBadger(b, batches, keysPerTxn, valSize)
	rawRate := float64(events) / rawElapsed.Seconds()

	ratio := httpRate / rawRate
	fmt.Printf("\ningest over HTTP: %d events in %d batches of %d, %d senders: %.0f events/s, time-to-200 p50 %v p99 %v\n",
		events, batches, benchPerBatch, benchSenders, httpRate, pct(all, 50), pct(all, 99))
	fmt.Printf("raw Badger synced commits: %d txns x %d keys (~%d B values), %d committers: %.0f events/s, commit p50 %v p99 %v\n",
		batches, keysPerTxn, valSize, benchSenders, rawRate, pct(rawLat, 50), pct(rawLat, 99))
	fmt.Printf("ratio HTTP/raw: %.2f (target >= 0.5), p99 target < 50ms; load average %s\n", ratio, loadAvg())
	b.ReportMetric(httpRate, "events/s")
	b.ReportMetric(float64(pct(all, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(all, 99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(rawRate, "raw-events/s")
	b.ReportMetric(ratio, "ratio")
}

// countKeys returns the number of live keys and their total value size.
func countKeys(b *testing.B, st *store.Store) (keys, bytes int) {
	keys, bytes, err := st.Footprint()
	if err != nil {
		b.Fatal(err)
	}
	return keys, bytes
}

// rawBadger commits txns transactions of keysPerTxn keys with valSize-byte
// values from benchSenders goroutines on a fresh store opened exactly as
// the gateway opens it (store.RawCommitBaseline: synced writes and the
// same Badger options, so the ratio compares like with like), and returns
// the wall time and the per-commit latencies.
func rawBadger(b *testing.B, txns, keysPerTxn, valSize int) (time.Duration, []time.Duration) {
	dir := filepath.Join(b.TempDir(), "raw")
	elapsed, lat, err := store.RawCommitBaseline(dir, store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		txns, keysPerTxn, valSize, benchSenders)
	if err != nil {
		b.Fatal(err)
	}
	return elapsed, lat
}

// loadAvg is the 1/5/15-minute load average, printed with the figures:
// other jobs on a shared 2-core machine move them by tens of percent.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(len(sorted)-1, max(0, i-1))]
}
