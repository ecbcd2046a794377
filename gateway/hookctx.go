package gateway

// The context an inline hook's plugin runs under. *fasthttp.RequestCtx is a
// context.Context whose Done channel closes when the server shuts down, but
// the context package does not know its type: context.WithTimeout on it
// starts one goroutine per request that waits for either channel, which was
// a visible part of a hook's host-side cost. requestContext wraps it with
// an AfterFunc method, which the context package uses instead; the
// callbacks of every request are run by one goroutine per server Done
// channel. Cancellation on shutdown is unchanged.

import (
	"context"
	"sync"

	"github.com/valyala/fasthttp"
)

// requestContext is a *fasthttp.RequestCtx as a context.Context that
// context.WithTimeout and friends can follow without a goroutine each.
type requestContext struct{ *fasthttp.RequestCtx }

var _ interface {
	context.Context
	AfterFunc(func()) func() bool
} = requestContext{}

// AfterFunc arranges for f to run in its own goroutine once the context is
// done (the server shuts down) and returns a stop function that cancels
// that, as context.AfterFunc does. The context package calls it when a
// child context is derived.
func (c requestContext) AfterFunc(f func()) (stop func() bool) {
	done := c.Done()
	if done == nil { // never canceled
		return func() bool { return true }
	}
	return watchDone(done).add(f)
}

// doneWatch runs the callbacks registered for one Done channel when it
// closes.
type doneWatch struct {
	done <-chan struct{}

	mu     sync.Mutex
	fns    map[uint64]func()
	next   uint64
	closed bool
}

// doneWatches holds the watch of every Done channel not yet closed (one
// per serving fasthttp server).
var doneWatches sync.Map // <-chan struct{} -> *doneWatch

// watchDone returns the watch of done, starting it on first use.
func watchDone(done <-chan struct{}) *doneWatch {
	if w, ok := doneWatches.Load(done); ok {
		return w.(*doneWatch)
	}
	w, loaded := doneWatches.LoadOrStore(done, &doneWatch{done: done, fns: map[uint64]func(){}})
	if !loaded {
		go w.(*doneWatch).run()
	}
	return w.(*doneWatch)
}

func (w *doneWatch) run() {
	<-w.done
	w.mu.Lock()
	w.closed = true
	fns := w.fns
	w.fns = nil
	w.mu.Unlock()
	doneWatches.Delete(w.done)
	for _, f := range fns {
		go f()
	}
}

// add registers f; see requestContext.AfterFunc.
func (w *doneWatch) add(f func()) (stop func() bool) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	id := w.next
	w.next++
	w.fns[id] = f
	w.mu.Unlock()
	return func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.fns[id]; !ok {
			return false
		}
		delete(w.fns, id)
		return true
	}
}
