package gateway_test

// /metrics after real traffic, parsed with expfmt's text parser; /readyz
// states.

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
)

// parseMetrics parses a /metrics body; a body the official parser rejects
// fails the test.
func parseMetrics(t testing.TB, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v\n%s", err, body)
	}
	return fams
}

// metricSum sums the values (counter, gauge, or a histogram's count) of
// family name over the samples whose labels include every pair in kv.
func metricSum(t testing.TB, body []byte, name string, kv ...string) float64 {
	t.Helper()
	mf := parseMetrics(t, body)[name]
	if mf == nil {
		t.Fatalf("/metrics has no family %s", name)
	}
	sum := 0.0
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(kv); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetricsAfterTraffic drives Okta batches (with duplicates), inline
// hooks with every plugin outcome and the pipeline, then checks each
// documented family's values.
func TestMetricsAfterTraffic(t *testing.T) {
	wd := buildWasm(t)
	fs := startFull(t, `
[[plugin]]
name = "hp"
path = "`+filepath.Join(wd, "hookplugin.wasm")+`"
pool_size = 2
timeout = "300ms"
config = { name = "hp" }

[[route]]
kind = "pre_approval"
plugin = "hp"

[plugins]
cache_dir = "`+filepath.Join(wd, "cache")+`"
`)
	batch := fixture(t, "batch.json")
	fs.postOkta(batch)
	fs.postOkta(batch) // every event a duplicate
	if code, _, _ := fs.do("POST", "/events/okta", batch, "Authorization", "wrong"); code != 401 {
		t.Fatalf("wrong auth: %d", code)
	}
	for _, c := range []string{"", "ok:yes", "fail:no", "panic", "loop"} {
		code, _, b := fs.do("POST", "/hooks/pre_approval", hookBody("aws", "", "a@example.com", c),
			"Authorization", testHookSecret, "Content-Type", "application/json")
		if code != 200 {
			t.Fatalf("hook %q: %d %s", c, code, b)
		}
	}
	_, _, m := fs.do("GET", "/metrics", nil)

	checks := []struct {
		name string
		kv   []string
		want float64
	}{
		{"hookgate_okta_batches_total", []string{"outcome", "ok"}, 2},
		{"hookgate_okta_batches_total", []string{"outcome", "rejected"}, 1},
		{"hookgate_okta_events_total", []string{"result", "accepted"}, 13},
		{"hookgate_okta_events_total", []string{"result", "duplicate"}, 13},
		{"hookgate_okta_events_total", []string{"type", "group.user_membership.add", "result", "accepted"}, 3},
		{"hookgate_okta_events_total", []string{"type", "group.user_membership.add", "result", "duplicate"}, 3},
		{"hookgate_okta_ingest_seconds", nil, 2}, // histogram count
		{"hookgate_plugin_calls_total", []string{"plugin", "hp", "kind", "pre_approval", "outcome", "success"}, 2},
		{"hookgate_plugin_calls_total", []string{"plugin", "hp", "kind", "pre_approval", "outcome", "failure"}, 1},
		{"hookgate_plugin_calls_total", []string{"plugin", "hp", "kind", "pre_approval", "outcome", "trap"}, 1},
		{"hookgate_plugin_calls_total", []string{"plugin", "hp", "kind", "pre_approval", "outcome", "timeout"}, 1},
		{"hookgate_plugin_call_seconds", []string{"plugin", "hp", "kind", "pre_approval"}, 5},
		{"hookgate_plugin_pool_size", []string{"plugin", "hp"}, 2},
		{"hookgate_plugin_instances_replaced_total", []string{"plugin", "hp"}, 2},
		{"hookgate_queue_items", []string{"state", "dead"}, 0},
		{"hookgate_queue_runs_total", []string{"outcome", "success"}, 0},
		{"hookgate_grants", []string{"state", "active"}, 0},
		{"hookgate_config_generation", nil, 1},
		{"hookgate_reloads_total", nil, 0},
	}
	for _, c := range checks {
		if got := metricSum(t, m, c.name, c.kv...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.kv, got, c.want)
		}
	}
	fams := parseMetrics(t, m)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "hookgate_plugin_pool_instances", "hookgate_plugin_pool_waiting"} {
		if fams[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// The type label is bounded: a type hookgate does not model is "other".
	fs.postOkta(fixture(t, "unknown_type.json"))
	_, _, m = fs.do("GET", "/metrics", nil)
	if got := metricSum(t, m, "hookgate_okta_events_total", "type", "other", "result", "accepted"); got != 1 {
		t.Errorf(`events of unmodelled types: type="other" accepted = %v, want 1`, got)
	}
	for _, mm := range parseMetrics(t, m)["hookgate_okta_events_total"].GetMetric() {
		for _, l := range mm.GetLabel() {
			if l.GetName() == "type" && strings.Contains(l.GetValue(), "unknown") {
				t.Errorf("unmodelled type leaked into a label: %s", l.GetValue())
			}
		}
	}
}

// TestReadyzStates: 503 before Serve, 200 with the generation while
// serving, 503 naming each problem once shutting down and once the store is
// closed.
func TestReadyzStates(t *testing.T) {
	wd := buildWasm(t)
	cfg := testConfig(t, `
[[plugin]]
name = "hp"
path = "`+filepath.Join(wd, "hookplugin.wasm")+`"
pool_size = 1
[[route]]
kind = "pre_approval"
plugin = "hp"
[plugins]
cache_dir = "`+filepath.Join(wd, "cache")+`"
`)
	quiet := quietLogger()
	st := openTestStore(t, cfg, quiet)
	ps, err := hook.LoadPlugins(context.Background(), gateway.PluginOptions(cfg), st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.New(cfg, st, quiet)
	srv.EnableHooks(hook.NewDispatcher(dispatcherOptions(cfg, ps.Deciders(), nil, quiet)))
	srv.EnableReload(gateway.ReloadOptions{Plugins: ps, Load: func() (*config.Config, error) { return cfg, nil }})

	type ready struct {
		Status     string   `json:"status"`
		Generation uint64   `json:"generation"`
		Problems   []string `json:"problems"`
	}
	get := func() (int, ready) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/readyz")
		srv.Handler(&ctx)
		var r ready
		if err := json.Unmarshal(ctx.Response.Body(), &r); err != nil {
			t.Fatalf("/readyz body %q: %v", ctx.Response.Body(), err)
		}
		return ctx.Response.StatusCode(), r
	}
	if code, r := get(); code != 503 || r.Status != "not ready" || len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "not serving") {
		t.Errorf("before Serve: %d %+v", code, r)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	eventually(t, "Serve to start", func() bool { c, _ := get(); return c == 200 })
	if code, r := get(); code != 200 || r.Status != "ready" || r.Generation != 1 || len(r.Problems) != 0 {
		t.Errorf("serving: %d %+v", code, r)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	if code, r := get(); code != 503 || len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "shutting down") {
		t.Errorf("after Shutdown: %d %+v", code, r)
	}
	if err := srv.ClosePlugins(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if code, r := get(); code != 503 || len(r.Problems) != 2 || r.Problems[1] != "store is closed" {
		t.Errorf("store closed: %d %+v", code, r)
	}
}
