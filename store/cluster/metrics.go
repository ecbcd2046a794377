package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate/store"
)

// metrics are the node's Prometheus families (Collector adds them to a
// registry).
type metrics struct {
	n       *Node
	latency *prometheus.HistogramVec

	mu     sync.Mutex
	at     time.Time
	status Status
}

var (
	descTerm = prometheus.NewDesc("hookgate_cluster_term",
		"Current Raft term of this node.", nil, nil)
	descLeader = prometheus.NewDesc("hookgate_cluster_is_leader",
		"1 when this node is the Raft leader.", nil, nil)
	descLeaderChanges = prometheus.NewDesc("hookgate_cluster_leader_changes_total",
		"Leader changes this node observed since it started.", nil, nil)
	descIndex = prometheus.NewDesc("hookgate_cluster_index",
		"This node's Raft indexes (last, commit, applied).", []string{"kind"}, nil)
	descLag = prometheus.NewDesc("hookgate_cluster_replication_lag_entries",
		"On the leader: entries each peer's applied index trails the leader's last index (-1: unreachable).", []string{"peer"}, nil)
	descStopped = prometheus.NewDesc("hookgate_cluster_apply_stopped",
		"1 when this node stopped applying the log at an entry its store cannot open (the reason is in /readyz and the log).", nil, nil)
	descKeyMismatch = prometheus.NewDesc("hookgate_cluster_store_key_mismatch",
		"1 when this node's store key differs from the leader's or a peer's (key ids compared over mutual TLS, or an entry sealed with another key).", nil, nil)
	descRefused = prometheus.NewDesc("hookgate_cluster_refused_connections_total",
		"Connections to the Raft port refused for want of a cluster certificate.", nil, nil)
)

func newMetrics(n *Node) *metrics {
	return &metrics{n: n, latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hookgate_cluster_write_seconds",
		Help:    "Replicated writes from proposal to quorum commit (stage=commit) and to applied on the node that proposed it (stage=apply).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 3},
	}, []string{"stage"})}
}

// Collector returns the node's metrics for a Prometheus registry.
func (n *Node) Collector() prometheus.Collector { return n.m }

// Describe sends the descriptors.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.latency.Describe(ch)
	for _, d := range []*prometheus.Desc{descTerm, descLeader, descLeaderChanges, descIndex, descLag, descRefused, descStopped, descKeyMismatch} {
		ch <- d
	}
}

// Collect reads the node (peer status at most once a second).
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.latency.Collect(ch)
	l := m.n.Local()
	ch <- prometheus.MustNewConstMetric(descTerm, prometheus.GaugeValue, float64(l.Term))
	lead := 0.0
	if l.State == "leader" {
		lead = 1
	}
	ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, lead)
	ch <- prometheus.MustNewConstMetric(descLeaderChanges, prometheus.CounterValue, float64(m.n.LeaderChanges()))
	ch <- prometheus.MustNewConstMetric(descIndex, prometheus.GaugeValue, float64(l.LastIndex), "last")
	ch <- prometheus.MustNewConstMetric(descIndex, prometheus.GaugeValue, float64(l.CommitIndex), "commit")
	ch <- prometheus.MustNewConstMetric(descIndex, prometheus.GaugeValue, float64(l.AppliedIndex), "applied")
	ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(m.n.Refused()))
	_, fault := m.n.fsm.stopped()
	ch <- prometheus.MustNewConstMetric(descStopped, prometheus.GaugeValue, b2f(fault != nil))
	mismatch := errors.Is(fault, store.ErrEntryKeyMismatch) || m.n.keyProblem.Load() != nil
	ch <- prometheus.MustNewConstMetric(descKeyMismatch, prometheus.GaugeValue, b2f(mismatch))
	if lead == 1 {
		m.mu.Lock()
		if time.Since(m.at) > time.Second {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			m.status = m.n.Status(ctx)
			cancel()
			m.at = time.Now()
		}
		st := m.status
		m.mu.Unlock()
		for _, p := range st.Nodes {
			if p.ID == m.n.o.NodeID {
				continue
			}
			lag := -1.0
			if p.State != "unreachable" {
				lag = float64(int64(l.LastIndex) - int64(p.AppliedIndex))
			}
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, lag, p.ID)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Readiness lists why this node should not take traffic (nil: ready):
// it stopped applying the log (ErrStopped), its store key differs from
// the leader's or a peer's, no known leader, or applied index more than
// maxLag behind the commit index.
func (n *Node) Readiness() []string {
	var out []string
	if _, err := n.fsm.stopped(); err != nil {
		out = append(out, err.Error())
	}
	if p := n.keyProblem.Load(); p != nil {
		out = append(out, *p)
	}
	if n.raft.State() == raft.Leader && n.keyTerm.Load() != n.raft.CurrentTerm() {
		out = append(out, "cluster: this leader has not yet confirmed that a quorum of the nodes shares its store key")
	}
	if addr, _ := n.raft.LeaderWithID(); addr == "" {
		out = append(out, "cluster: no leader known")
	}
	if c, a := n.raft.CommitIndex(), n.fsm.appliedIndex(); n.o.MaxLag > 0 && c > a && c-a > n.o.MaxLag {
		out = append(out, "cluster: this node lags "+itoa(c-a)+" entries behind the commit index")
	}
	return out
}

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}
