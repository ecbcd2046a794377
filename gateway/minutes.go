package gateway

import (
	"github.com/hookgate/hookgate/gateway/api"

	"sync"
	"sync/atomic"
	"time"
)

// The console's per-minute figures: a ring of the last hour's minutes, fed
// at the same places as the Prometheus counters (metrics.go) and kept in
// memory only, so they restart with the process (the console says so).
// Adding to a slot is a handful of atomic operations; a slot is reset under
// a mutex only when it is reused for a new minute.

// ringMinutes is how many minutes the ring keeps.
const ringMinutes = 60

// minuteSlot holds one minute's counts. minute is the Unix minute the
// counts belong to.
type minuteSlot struct {
	minute                         atomic.Int64
	eventsAccepted, eventsRejected atomic.Int64
	hookSuccess, hookFailure       atomic.Int64
	hookError                      atomic.Int64
	pluginCalls, pluginNanos       atomic.Int64
	pluginMaxNanos                 atomic.Int64
}

// minuteRing is the last hour by minute.
type minuteRing struct {
	mu    sync.Mutex // taken only to recycle a slot for a new minute
	slots [ringMinutes]minuteSlot
	now   func() time.Time // time.Now; tests may replace it
}

func newMinuteRing() *minuteRing { return &minuteRing{now: time.Now} }

// slot returns the slot of the minute of at, recycling it if it still
// holds an older minute.
func (r *minuteRing) slot(at time.Time) *minuteSlot {
	m := at.Unix() / 60
	s := &r.slots[m%ringMinutes]
	if s.minute.Load() != m {
		r.mu.Lock()
		if s.minute.Load() != m {
			s.eventsAccepted.Store(0)
			s.eventsRejected.Store(0)
			s.hookSuccess.Store(0)
			s.hookFailure.Store(0)
			s.hookError.Store(0)
			s.pluginCalls.Store(0)
			s.pluginNanos.Store(0)
			s.pluginMaxNanos.Store(0)
			s.minute.Store(m)
		}
		r.mu.Unlock()
	}
	return s
}

// events counts accepted and rejected Okta events.
func (r *minuteRing) events(accepted, rejected int) {
	if accepted == 0 && rejected == 0 {
		return
	}
	s := r.slot(r.now())
	s.eventsAccepted.Add(int64(accepted))
	s.eventsRejected.Add(int64(rejected))
}

// pluginCall counts one plugin call of d that ended at end (the caller's
// clock reading: on some machines reading the clock costs more than all
// of this); hook says whether it decided an inline hook (not an Okta
// event), and outcome is its callOutcome.
func (r *minuteRing) pluginCall(hook bool, outcome int, d time.Duration, end time.Time) {
	s := r.slot(end)
	if hook {
		switch outcome {
		case 0:
			s.hookSuccess.Add(1)
		case 1:
			s.hookFailure.Add(1)
		default:
			s.hookError.Add(1)
		}
	}
	s.pluginCalls.Add(1)
	s.pluginNanos.Add(int64(d))
	for {
		cur := s.pluginMaxNanos.Load()
		if int64(d) <= cur || s.pluginMaxNanos.CompareAndSwap(cur, int64(d)) {
			break
		}
	}
}

// last returns the last ringMinutes minutes, oldest first, the current
// minute last; minutes with nothing recorded are zero.
func (r *minuteRing) last() []api.MinuteStats {
	now := r.now().Unix() / 60
	out := make([]api.MinuteStats, 0, ringMinutes)
	for m := now - ringMinutes + 1; m <= now; m++ {
		ms := api.MinuteStats{Start: time.Unix(m*60, 0).UTC()}
		s := &r.slots[m%ringMinutes]
		if s.minute.Load() == m {
			ms.EventsAccepted = s.eventsAccepted.Load()
			ms.EventsRejected = s.eventsRejected.Load()
			ms.HookSuccess = s.hookSuccess.Load()
			ms.HookFailure = s.hookFailure.Load()
			ms.HookError = s.hookError.Load()
			ms.PluginCalls = s.pluginCalls.Load()
			if ms.PluginCalls > 0 {
				ms.PluginMeanMs = float64(s.pluginNanos.Load()) / float64(ms.PluginCalls) / 1e6
			}
			ms.PluginMaxMs = float64(s.pluginMaxNanos.Load()) / 1e6
		}
		out = append(out, ms)
	}
	return out
}
