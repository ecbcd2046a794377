package plugins

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/hookgate/hookgate/plugins/internal/interrupt"
)

// Go-built plugins go through interrupt.Instrument; these tests check that
// the instrumented module is what stops them, and the fallback.

// spinning starts a "loop" call and waits until the guest holds the
// instance; the returned channel yields the call's error.
func spinning(t *testing.T, p *Plugin, action string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := p.Call(context.Background(), "pre_approval", request(action, "a@example.com"))
		done <- err
	}()
	for p.Stats().InUse == 0 {
		select {
		case err := <-done:
			t.Fatalf("%s call ended at once: %v", action, err)
		case <-time.After(time.Millisecond):
		}
	}
	return done
}

func wantTimeout(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err %v, want ErrTimeout", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("call still running a minute later")
	}
}

func TestGoPluginIsInstrumented(t *testing.T) {
	p := load(t, newHost(t, HostOptions{}), kitchenConfig("instrumented"))
	if !p.fuel {
		t.Fatal("the kitchen plugin was not instrumented; calls would pay wazero's per-loop exit to Go")
	}
}

// TestGCWhileGuestSpins: Go cannot preempt native code, so a guest that
// never calls into Go would hold up every garbage collection's
// stop-the-world, and with it the whole gateway. The instrumented guest
// yields to Go regularly: a collection started while it spins completes
// before the call times out.
func TestGCWhileGuestSpins(t *testing.T) {
	cfg := kitchenConfig("gc")
	cfg.PoolSize = 1
	cfg.Timeout.Duration = 3 * time.Second
	p := load(t, newHost(t, HostOptions{}), cfg)
	done := spinning(t, p, "loop")
	runtime.GC()
	select {
	case err := <-done:
		t.Fatalf("the garbage collection waited for the guest's call to end (%v)", err)
	default:
	}
	wantTimeout(t, done)
}

// TestSleepingGuestTimesOut: a guest blocked in WASI's clock wait is
// stopped at its deadline too.
func TestSleepingGuestTimesOut(t *testing.T) {
	cfg := kitchenConfig("sleeper")
	cfg.PoolSize = 1
	cfg.Timeout.Duration = 200 * time.Millisecond
	p := load(t, newHost(t, HostOptions{}), cfg)
	wantTimeout(t, spinning(t, p, "sleep"))
	afterFailure(t, p)
}

// TestFallbackWhenNotInstrumented: a module the instrumenter refuses runs
// under wazero's close-on-context-done, which stops it as well.
func TestFallbackWhenNotInstrumented(t *testing.T) {
	instrument = func([]byte, interrupt.Options) ([]byte, interrupt.Stats, error) {
		return nil, interrupt.Stats{}, interrupt.ErrUnsupported
	}
	t.Cleanup(func() { instrument = interrupt.Instrument })
	cfg := kitchenConfig("fallback")
	cfg.PoolSize = 1
	cfg.Timeout.Duration = 200 * time.Millisecond
	p := load(t, newHost(t, HostOptions{}), cfg)
	if p.fuel {
		t.Fatal("instrumented despite the refusal")
	}
	wantTimeout(t, spinning(t, p, "loop"))
	afterFailure(t, p)
}
