package gateway

// GET /v1/stats and GET /v1/plugins: what the console's overview and
// plugins pages show that the rest of the admin API does not. Both read
// the same sources as /metrics (the per-minute ring fed beside the
// Prometheus counters, the registry's own plugin counters and histograms,
// the store's queue and grant counts), so the pages cannot disagree with
// the metrics.

import (
	"math"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/api"
)

// serveStats serves GET /v1/stats.
func (s *Server) serveStats(ctx *fasthttp.RequestCtx, _ []string) {
	st := api.Stats{
		StartedAt:  s.m.started.UTC(),
		Generation: s.gen.Load().Seq,
		Minutes:    s.m.minutes.last(),
	}
	if ns := s.m.lastDelivery.Load(); ns != 0 {
		t := time.Unix(0, ns).UTC()
		st.LastOktaDelivery = &t
	}
	if t, err := s.st.LastAppliedPublished(); err == nil && !t.IsZero() {
		st.LastApplied = &t
	}
	var err error
	if st.Queue, err = s.st.QueueStats(); err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, "queue stats: "+err.Error())
		return
	}
	if st.Grants, err = s.st.GrantStats(); err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, "grant stats: "+err.Error())
		return
	}
	writeJSON(ctx, st)
}

// servePlugins serves GET /v1/plugins: the current generation's plugins in
// name order.
func (s *Server) servePlugins(ctx *fasthttp.RequestCtx, _ []string) {
	g := s.acquire()
	defer g.release()
	mfs, err := s.m.reg.Gather()
	if err != nil && len(mfs) == 0 {
		writeError(ctx, fasthttp.StatusInternalServerError, "gather metrics: "+err.Error())
		return
	}
	calls := map[string]map[string]uint64{}
	hists := map[string][]*dto.Histogram{}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "hookgate_plugin_calls_total":
			for _, m := range mf.GetMetric() {
				name, outcome := label(m, "plugin"), label(m, "outcome")
				if calls[name] == nil {
					calls[name] = map[string]uint64{}
				}
				calls[name][outcome] += uint64(m.GetCounter().GetValue())
			}
		case "hookgate_plugin_call_seconds":
			for _, m := range mf.GetMetric() {
				name := label(m, "plugin")
				hists[name] = append(hists[name], m.GetHistogram())
			}
		}
	}
	out := []api.PluginStats{}
	for _, p := range g.loaded {
		ps := p.Stats()
		n := p.Name()
		v := api.PluginStats{
			Name: n, PoolSize: ps.PoolSize, Idle: ps.Idle, InUse: ps.InUse,
			Replacing: max(0, ps.PoolSize-ps.Idle-ps.InUse), Waiting: ps.Waiting, Replaced: ps.Replaced,
			Calls: calls[n], LastErrors: []api.PluginError{},
		}
		if v.Calls == nil {
			v.Calls = map[string]uint64{}
		}
		v.P50Ms = quantileMs(hists[n], 0.50)
		v.P99Ms = quantileMs(hists[n], 0.99)
		s.m.obsMu.Lock()
		o := s.m.obs[n]
		s.m.obsMu.Unlock()
		if o != nil {
			v.LastErrors = o.lastErrors()
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(ctx, out)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// quantileMs estimates quantile q of the merged histograms (same buckets)
// in milliseconds, interpolating linearly inside the bucket (as
// Prometheus' histogram_quantile does); nil without observations.
func quantileMs(hs []*dto.Histogram, q float64) *float64 {
	var total uint64
	var bounds []float64
	var cum []uint64
	for _, h := range hs {
		total += h.GetSampleCount()
		for i, b := range h.GetBucket() {
			if i >= len(bounds) {
				bounds = append(bounds, b.GetUpperBound())
				cum = append(cum, 0)
			}
			cum[i] += b.GetCumulativeCount()
		}
	}
	if total == 0 {
		return nil
	}
	rank := q * float64(total)
	lower, below := 0.0, uint64(0)
	for i, ub := range bounds {
		if float64(cum[i]) >= rank {
			in := cum[i] - below
			v := ub
			if in > 0 {
				v = lower + (ub-lower)*(rank-float64(below))/float64(in)
			}
			ms := math.Round(v*1e6) / 1e3
			return &ms
		}
		lower, below = ub, cum[i]
	}
	// Beyond the last bucket: the largest finite bound is all we know.
	ms := lower * 1e3
	return &ms
}
