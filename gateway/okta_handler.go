package gateway

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway/config"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/internal/admin"
	"github.com/hookgate/hookgate/gateway/okta"
)

// verificationHeader carries Okta's one-time verification challenge.
const verificationHeader = "X-Okta-Verification-Challenge"

// serveOkta is the Okta Event Hook endpoint (path okta.path):
//
//   - GET with X-Okta-Verification-Challenge: echo it as
//     {"verification": "<value>"}; only with valid auth (no oracle).
//   - POST: an event hook envelope. Auth first (nothing is read or applied
//     without it), then the body limit, then parse, then one synced Badger
//     transaction (okta.Ingest); 200 with an empty body only after it
//     committed, 500 (Okta retries 5xx once) if it did not.
//
// The success path allocates only what parsing and the transaction need:
// auth compares digests on the stack and the body is read into a pooled
// buffer.
func (s *Server) serveOkta(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	g := s.gen.Load() // settings of the current generation (live reload)
	switch {
	case ctx.IsPost():
	case ctx.IsGet():
		s.oktaVerify(ctx)
		return
	default:
		admin.MethodNotAllowed(ctx, "GET, POST")
		return
	}

	header := g.Config.Okta.AuthHeader
	if !secretMatches(ctx.Request.Header.Peek(header), &g.oktaSecret) {
		s.m.batchesRejected.Inc()
		s.log.Warn("okta: rejected delivery: bad or missing auth header",
			"header", header, "remote", ctx.RemoteAddr().String())
		writeError(ctx, fasthttp.StatusUnauthorized, "missing or wrong "+header+" header")
		return
	}
	bp := readBody(ctx, g.Config.Okta.MaxBodyBytes)
	if bp == nil {
		s.m.batchesRejected.Inc()
		s.log.Warn("okta: rejected delivery: body too large", "limit", g.Config.Okta.MaxBodyBytes)
		return
	}
	defer releaseBody(bp)

	batch, err := okta.ParseEnvelope(hook.TrimBOM(*bp))
	if err != nil {
		s.m.batchesRejected.Inc()
		s.log.Warn("okta: rejected delivery: not an event hook envelope", "err", err, "bytes", len(*bp))
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	res, err := s.IngestBatch(batch)
	if err != nil {
		// Nothing was acknowledged; Okta retries a 5xx once, and anything it
		// does not retry is recovered by the System Log catch-up.
		s.m.batchesFailed.Inc()
		s.log.Error("okta: batch not committed", "err", err)
		writeError(ctx, fasthttp.StatusInternalServerError, "batch not stored: "+err.Error())
		return
	}
	d := time.Since(start)
	s.m.observeBatch(d, batch, res)
	s.log.LogAttrs(ctx, slog.LevelInfo, "okta batch",
		slog.Int("accepted", res.Accepted),
		slog.Int("duplicates", res.Duplicates),
		slog.Int("rejected", res.Rejected),
		slog.Duration("duration", d))
	// Okta wants 200 or 204 with an empty body.
	ctx.SetStatusCode(fasthttp.StatusOK)
}

// verification is the reply to Okta's one-time verification GET.
type verification struct {
	Verification string `json:"verification"`
}

// oktaVerify answers Okta's one-time verification request.
func (s *Server) oktaVerify(ctx *fasthttp.RequestCtx) {
	g := s.gen.Load()
	header := g.Config.Okta.AuthHeader
	if !secretMatches(ctx.Request.Header.Peek(header), &g.oktaSecret) {
		s.log.Warn("okta: verification refused: bad or missing auth header", "header", header)
		writeError(ctx, fasthttp.StatusUnauthorized, "missing or wrong "+header+" header")
		return
	}
	challenge := ctx.Request.Header.Peek(verificationHeader)
	if len(challenge) == 0 {
		writeError(ctx, fasthttp.StatusBadRequest,
			"GET on the Okta event hook path is only the one-time verification: missing "+verificationHeader+" header")
		return
	}
	// Echo the value byte-exact: no HTML escaping of <, > or &.
	ctx.SetContentType("application/json")
	enc := json.NewEncoder(ctx)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(verification{Verification: string(challenge)}); err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, "encode verification: "+err.Error())
		return
	}
	s.log.Info("okta: answered verification challenge")
}

// IngestBatch is the one path every Okta event takes into the store, from
// the event hook and from System Log catch-up alike: okta.Ingest with the
// configured retention (dedupe by uuid, apply, the [[on_event]] plugin
// work planned by the pipeline enqueued in the same transaction), then the
// queue worker is woken when something new was accepted, and users first
// seen are looked up in Okta. It returns after the commit.
func (s *Server) IngestBatch(batch *okta.Batch) (okta.IngestResult, error) {
	opts := okta.IngestOptions{Retention: s.cfg.Okta.EventRetention.Duration}
	if s.work != nil {
		opts.Work = s.work.Events.PlanWork
	}
	res, err := okta.Ingest(s.st, batch, opts)
	if err != nil {
		return res, err
	}
	if res.Accepted > 0 && s.work != nil {
		s.work.Worker.Kick()
	}
	if len(res.Lookups) > 0 {
		s.okta.LookUp(res.Lookups)
	}
	return res, nil
}

// oktaGateway is oktaapi.Gateway over the server: catch-up pages take the
// event hook's path and are counted as catch-up on /metrics; the
// subscriptions are the current generation's.
type oktaGateway struct{ s *Server }

// IngestCatchUp ingests one System Log page through IngestBatch.
func (g oktaGateway) IngestCatchUp(b *okta.Batch) (okta.IngestResult, error) {
	res, err := g.s.IngestBatch(b)
	if err == nil {
		g.s.m.observeEvents(srcCatchUp, b, res)
	}
	return res, err
}

// Subscriptions returns the current generation's [[on_event]] tables.
func (g oktaGateway) Subscriptions() []config.OnEvent { return g.s.gen.Load().Config.OnEvent }
