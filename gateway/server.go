// Package gateway is hookgate's one fasthttp server and the thin root
// that assembles it: the composition root (Build, build.go) that builds the
// parts in order and gives each what it needs, the server's lifecycle
// (Serve, Shutdown, start-up plugin loading in startup.go), the immutable
// generation a reload swaps (generation.go, reload_keys.go), and the HTTP
// edge: the Okta Event Hook endpoint, POST /hooks/{kind}, the /v1 admin API
// (one route table, routes.go), /ui/, and the health, readiness and
// metrics endpoints.
//
// The parts live beside it: gateway/hook decides inline hooks,
// gateway/internal/work runs the durable work (queue, event plugin runs,
// grants), gateway/internal/admin holds the /v1 router and the handlers
// over the store and the work, gateway/api the /v1 JSON documents,
// gateway/okta the Okta wire format and Management API client,
// gateway/console the operator console, gateway/config the config file.
//
// Routing is a switch on the request path; nothing on the hot paths (the
// Okta endpoint, health checks) allocates for routing or authentication:
// paths and headers are compared as the byte slices fasthttp already holds,
// and secrets are compared as SHA-256 digests computed into stack arrays.
package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/console"
	"github.com/hookgate/hookgate/gateway/internal/admin"
	"github.com/hookgate/hookgate/gateway/internal/oktaapi"
	"github.com/hookgate/hookgate/gateway/internal/work"
	"github.com/hookgate/hookgate/store"
	"github.com/hookgate/hookgate/store/cluster"
)

// adminMaxBodyBytes caps request bodies on the admin API (it only reads
// today, but later routes may accept small JSON bodies).
const adminMaxBodyBytes = 64 << 10

// maxDrainBytes bounds how much of an oversized request body the server
// reads and discards before answering 413. Reading the rest of the body
// (instead of closing a socket with unread data, which makes the kernel send
// a TCP RST that can destroy the 413 before the client reads it) is what
// lets a client such as Okta or curl actually see the 413. Bodies larger
// than this still get the 413 written, followed by a close.
const maxDrainBytes = 64 << 20

// Server is the gateway's HTTP server. Build assembles the whole gateway
// (New is the bare server Build starts from); then call Serve. It is safe
// for concurrent use.
type Server struct {
	// Hooks serves POST /hooks/{kind} (the inline access hooks), set by
	// EnableHooks. Nil: requests under /hooks/ get a JSON 404.
	Hooks fasthttp.RequestHandler

	// work is the durable work (Build): its Events plan the plugin work of
	// each Okta event not seen before (the store enqueues it in the
	// batch's commit if the event is newly accepted there), and its worker
	// is woken after such a commit, before Okta gets its 200. Nil: events
	// are applied and plan no work.
	work *work.Pipeline
	// okta is the Okta Management API part (Build); when an org is
	// configured, users first seen in an event are looked up through it.
	okta *oktaapi.API

	cfg  *config.Config // as at start-up; restart-only settings come from here
	st   *store.Store
	log  *slog.Logger
	http *fasthttp.Server
	// admin is the /v1 router, built from the route table (routes.go) on
	// first use.
	admin     *admin.Router
	adminOnce sync.Once
	m         *metrics
	ui        *console.Console // the operator console under /ui/

	// gen is the generation serving new requests (generation.go): the
	// per-request settings, plugins, routes and responses of gateway.toml,
	// replaced atomically by Reload.
	gen        atomic.Pointer[Generation]
	reloadOpts ReloadOptions
	reloadOn   bool // EnableReload was called: POST /v1/reload is served
	// audit is the hook dispatcher's audit log, served on GET /v1/audit
	// (EnableHooks).
	audit    *store.AuditLog
	reloadMu sync.Mutex
	retiring sync.WaitGroup

	ready atomic.Bool
	// loading is set while the start-up plugins load in the background
	// (StartLoading, startup.go).
	loading atomic.Pointer[loadState]
	// cluster is this node's Raft membership (nil: single node).
	cluster *cluster.Node
}

// New builds the server for a validated config over an open store. logger
// may be nil (slog.Default is used).
func New(cfg *config.Config, st *store.Store, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{
		cfg: cfg,
		st:  st,
		log: logger,
	}
	s.gen.Store(newGeneration(cfg, 1))
	s.m = newMetrics(s)
	s.ui = s.newConsole()
	maxBody := max(cfg.Okta.MaxBodyBytes, cfg.Hooks.MaxBodyBytes, adminMaxBodyBytes)
	s.http = &fasthttp.Server{
		Handler:      s.Handler,
		ErrorHandler: s.errorHandler,
		Name:         "hookgate",
		ReadTimeout:  cfg.Server.ReadTimeout.Duration,
		WriteTimeout: cfg.Server.WriteTimeout.Duration,
		IdleTimeout:  cfg.Server.IdleTimeout.Duration,
		// Connection caps (server.max_conns, max_conns_per_ip): past them
		// fasthttp answers 503 / 429 and closes, so a flood of idle
		// connections cannot take every file descriptor. Headers larger
		// than max_header_bytes are answered 431.
		Concurrency:    cfg.Server.MaxConns,
		MaxConnsPerIP:  cfg.Server.MaxConnsPerIP,
		ReadBufferSize: cfg.Server.MaxHeaderBytes,
		// Bodies up to the largest per-endpoint limit are read whole before
		// the handler runs; a larger body is streamed to the handler
		// (StreamRequestBody) so it can answer a proper 413 JSON after
		// draining, instead of fasthttp dropping the connection. Each
		// endpoint then checks its own, possibly smaller, limit.
		MaxRequestBodySize:            maxBody,
		StreamRequestBody:             true,
		CloseOnShutdown:               true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: false,
		Logger:                        fasthttpLogger{logger},
	}
	return s
}

// Serve accepts connections on ln until Shutdown. It returns nil after a
// graceful shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.ready.Store(true)
	s.log.Info("listening", "addr", ln.Addr().String(), "okta_path", s.cfg.Okta.Path,
		"okta_auth_header", s.cfg.Okta.AuthHeader)
	err := s.http.Serve(ln)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("gateway: serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for requests in flight
// to finish (every acknowledged batch is already committed), or until ctx
// ends. It does not close the store: the caller does that afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	if err := s.http.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("gateway: shutdown: %w", err)
	}
	return nil
}

// Handler is the single router. It dispatches on the path alone; each
// endpoint checks its own method, auth and body limit. string(b) in a
// comparison or switch does not allocate.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch {
	case string(path) == string(s.gen.Load().oktaPath):
		s.serveOkta(ctx)
	case hasPrefix(path, "/v1/"):
		s.serveAdmin(ctx)
	case hasPrefix(path, console.Prefix) || string(path) == "/ui":
		s.ui.Serve(ctx)
	case hasPrefix(path, "/hooks/"):
		if s.Hooks == nil {
			// Filled in by the inline access hooks issue.
			writeError(ctx, fasthttp.StatusNotFound, "no inline hooks are configured in this build")
			return
		}
		s.Hooks(ctx)
	default:
		switch string(path) {
		case "/healthz":
			// Liveness: the process answers. No auth, no allocation.
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"status":"ok"}`)
		case "/readyz":
			// Readiness: store open, every plugin loaded with a ready
			// instance, serving and not shutting down (generation.go).
			s.serveReady(ctx)
		case "/metrics":
			s.m.serve(ctx)
		default:
			writeError(ctx, fasthttp.StatusNotFound, "no such endpoint: "+string(path))
		}
	}
}

// errorHandler answers the requests fasthttp rejects before a handler runs
// (unparsable requests, timeouts, bodies over the server-wide limit) with a
// JSON error like every other endpoint.
func (s *Server) errorHandler(ctx *fasthttp.RequestCtx, err error) {
	var te interface{ Timeout() bool }
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "request body too large")
	case errors.As(err, &te) && te.Timeout():
		writeError(ctx, fasthttp.StatusRequestTimeout, "request timeout")
	case errors.As(err, &small):
		writeError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("request headers exceed %d bytes (server.max_header_bytes)", s.cfg.Server.MaxHeaderBytes))
	default:
		writeError(ctx, fasthttp.StatusBadRequest, "cannot parse request: "+err.Error())
	}
}

// bodyPool recycles request body buffers: with StreamRequestBody fasthttp
// hands every body to the handler as a stream, so the handler reads it into
// one of these instead of allocating per request.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// readBody reads the request body if it is at most limit bytes, into a
// pooled buffer the caller must hand back with releaseBody once nothing
// refers to it any more. Otherwise it drains what it can, answers 413 JSON
// and returns nil.
func readBody(ctx *fasthttp.RequestCtx, limit int) *[]byte {
	stream := ctx.RequestBodyStream()
	if cl := ctx.Request.Header.ContentLength(); cl > limit {
		tooLarge(ctx, stream, limit)
		return nil
	}
	bp := bodyPool.Get().(*[]byte)
	b := (*bp)[:0]
	if stream == nil {
		b = append(b, ctx.Request.Body()...)
	} else {
		if cl := ctx.Request.Header.ContentLength(); cl > cap(b) {
			b = make([]byte, 0, cl)
		}
		for len(b) <= limit {
			if len(b) == cap(b) {
				b = append(b, 0)[:len(b)]
			}
			n, err := stream.Read(b[len(b):cap(b)])
			b = b[:len(b)+n]
			if err != nil {
				break
			}
		}
	}
	*bp = b
	if len(b) > limit {
		releaseBody(bp)
		tooLarge(ctx, stream, limit)
		return nil
	}
	return bp
}

// releaseBody returns a buffer from readBody to the pool. Very large
// buffers are dropped so one big request does not pin memory.
func releaseBody(bp *[]byte) {
	if bp == nil || cap(*bp) > 1<<20 {
		return
	}
	*bp = (*bp)[:0]
	bodyPool.Put(bp)
}

// tooLarge drains (bounded) the rest of an oversized body so the 413
// reaches the client (see maxDrainBytes), then answers 413 JSON.
func tooLarge(ctx *fasthttp.RequestCtx, stream io.Reader, limit int) {
	if stream != nil {
		_, _ = io.CopyN(io.Discard, stream, maxDrainBytes)
	}
	ctx.SetConnectionClose()
	writeError(ctx, fasthttp.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body exceeds the %d byte limit", limit))
}

// secretMatches compares a presented credential with the digest of the
// expected one in constant time. Hashing first hides the secret's length
// too; sha256.Sum256 returns an array, so this does not allocate.
func secretMatches(presented []byte, want *[sha256.Size]byte) bool {
	if len(presented) == 0 {
		return false
	}
	got := sha256.Sum256(presented)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// writeError answers status with {"error": msg}, like every endpoint.
func writeError(ctx *fasthttp.RequestCtx, status int, msg string) { admin.WriteError(ctx, status, msg) }

// writeJSON answers 200 with v encoded as JSON.
func writeJSON(ctx *fasthttp.RequestCtx, v any) { admin.WriteJSON(ctx, v) }

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// fasthttpLogger routes fasthttp's own printf-style log lines into slog.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn(strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "fasthttp")
}
