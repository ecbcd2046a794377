package gateway

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestRequestContextCanceledOnShutdown: a context derived from a request
// (as Dispatch derives the plugin's) ends when the server shuts down, and
// contexts that end first leave nothing registered.
func TestRequestContextCanceledOnShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inHandler := make(chan struct{})
	result := make(chan error, 1)
	var watch *doneWatch
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/quick" {
			for range 100 {
				c, cancel := context.WithTimeout(requestContext{ctx}, time.Hour)
				cancel()
				<-c.Done()
			}
			watch = watchDone(ctx.Done())
			return
		}
		c, cancel := context.WithTimeout(requestContext{ctx}, time.Hour)
		defer cancel()
		close(inHandler)
		<-c.Done()
		result <- context.Cause(c)
	}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := &fasthttp.Client{}
	if code, _, err := client.Get(nil, "http://"+ln.Addr().String()+"/quick"); err != nil || code != 200 {
		t.Fatalf("GET /quick: %d %v", code, err)
	}
	watch.mu.Lock()
	left := len(watch.fns)
	watch.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d callbacks still registered after their contexts were canceled", left)
	}

	go client.Get(nil, "http://"+ln.Addr().String()+"/wait")
	<-inHandler
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown() }()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("plugin context ended with %v, want context.Canceled (server shutdown)", err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
