package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/okta"
	"github.com/hookgate/hookgate/plugins"
	"github.com/hookgate/hookgate/store"
)

// BenchmarkGoVsAssemblyScript measures the same plugin, oncall-preapproval,
// written in Go (examples/oncall-preapproval) and in AssemblyScript
// (examples/as-oncall-preapproval), side by side in one run: .wasm size,
// first compile (empty cache), compile from the on-disk cache, a warm call
// (flat input, one is_member and one user_get against Badger) and the
// inline hook round trip through a real server on loopback (one caller,
// sequential). Run with -benchtime=1x (make bench).
func BenchmarkGoVsAssemblyScript(b *testing.B) {
	for b.Loop() {
		runLangBench(b)
	}
}

type langFigures struct {
	size                int64
	cold, cached        time.Duration
	warmP50, warmMean   time.Duration
	roundP50, roundMean time.Duration
}

func runLangBench(b *testing.B) {
	wd := buildWasm(b)
	batch := sharedFixture(b, "okta/batch.json")
	alice := sharedFixture(b, "lumos/pre_approval.json")
	langs := []struct{ lang, file string }{
		{"Go", "oncall-preapproval.wasm"},
		{"AssemblyScript", "as-oncall-preapproval.wasm"},
	}
	figs := make([]langFigures, len(langs))
	for i, l := range langs {
		path := filepath.Join(wd, l.file)
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		f := &figs[i]
		f.size = fi.Size()
		st, err := store.Open("", store.Options{InMemory: true, Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		env, err := okta.ParseEnvelope(batch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := okta.Ingest(st, env, okta.IngestOptions{}); err != nil {
			b.Fatal(err)
		}
		cache := b.TempDir()
		pc := config.Plugin{Name: "oncall", Path: path, PoolSize: 1, Timeout: config.Duration{Duration: 5 * time.Second},
			MemoryLimit: 512, Capabilities: []string{"log", "config", "identity"}, Config: map[string]string{"group": "oncall-engineers"}}
		load := func() (*plugins.Host, *plugins.Plugin, time.Duration) {
			h, err := plugins.NewHost(context.Background(), plugins.HostOptions{CacheDir: cache, Logger: quietLogger(), Identity: st, KV: st})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			p, err := h.Load(context.Background(), pc)
			if err != nil {
				b.Fatal(err)
			}
			return h, p, time.Since(start)
		}
		h, p, d := load()
		f.cold = d
		p.Close()
		h.Close()
		h, p, f.cached = load()
		req, err := hook.ParseHookRequest(alice)
		if err != nil {
			b.Fatal(err)
		}
		in := hook.PluginInput(alice, req)
		lat := make([]time.Duration, 0, 2000)
		for j := range 2200 {
			start := time.Now()
			res, err := p.CallInput(context.Background(), "pre_approval", in)
			if err != nil || !res.Decision.Success {
				b.Fatal(res, err)
			}
			if j >= 200 { // the first calls warm the instance
				lat = append(lat, time.Since(start))
			}
		}
		f.warmP50, f.warmMean = p50mean(lat)
		p.Close()
		h.Close()
		st.Close()

		hs := startHookServer(b, fmt.Sprintf(`
[[plugin]]
name = "oncall"
path = %q
capabilities = ["log", "config", "identity"]
config = { group = "oncall-engineers" }

[[route]]
kind = "pre_approval"
plugin = "oncall"
`, path))
		hs.postOkta(batch)
		lat = lat[:0]
		for j := range 1200 {
			start := time.Now()
			code, r, raw := hs.hook("pre_approval", alice)
			if code != 200 || r.Response != "APPROVED" {
				b.Fatalf("%s: %d %s", l.lang, code, raw)
			}
			if j >= 200 {
				lat = append(lat, time.Since(start))
			}
		}
		f.roundP50, f.roundMean = p50mean(lat)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "oncall-preapproval, Go vs AssemblyScript (same run; ratio = AS / Go):\n")
	fmt.Fprintf(&out, "  %-34s %14s %16s %8s\n", "", "Go", "AssemblyScript", "ratio")
	row := func(name string, g, a float64, unit string, fmtv func(float64) string) {
		fmt.Fprintf(&out, "  %-34s %14s %16s %8.3f\n", name, fmtv(g)+unit, fmtv(a)+unit, a/g)
	}
	kb := func(v float64) string { return fmt.Sprintf("%.1f", v/1024) }
	dur := func(v float64) string { return time.Duration(v).Round(100 * time.Nanosecond).String() }
	g, a := figs[0], figs[1]
	row(".wasm size", float64(g.size), float64(a.size), " KiB", kb)
	row("first compile + instantiate", float64(g.cold), float64(a.cold), "", dur)
	row("from cache + instantiate", float64(g.cached), float64(a.cached), "", dur)
	row("warm call p50 (in-process)", float64(g.warmP50), float64(a.warmP50), "", dur)
	row("warm call mean", float64(g.warmMean), float64(a.warmMean), "", dur)
	row("inline hook round trip p50", float64(g.roundP50), float64(a.roundP50), "", dur)
	row("inline hook round trip mean", float64(g.roundMean), float64(a.roundMean), "", dur)
	b.Log("\n" + out.String())
	b.ReportMetric(float64(a.size)/float64(g.size), "size-AS/Go")
	b.ReportMetric(float64(a.cold)/float64(g.cold), "cold-AS/Go")
	b.ReportMetric(float64(a.warmP50)/float64(g.warmP50), "warm-AS/Go")
	b.ReportMetric(0, "ns/op")
}

func p50mean(lat []time.Duration) (time.Duration, time.Duration) {
	s := slices.Clone(lat)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return s[len(s)/2], sum / time.Duration(len(s))
}
