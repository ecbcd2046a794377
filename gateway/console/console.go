// Package console is hookgate's operator console, served under /ui/ on the
// gateway's own listener.
//
// Pages are rendered on the server with html/template: its contextual
// auto-escaping makes every string that came from Okta, Lumos or a plugin
// text, never markup, whatever page or attribute it lands in. Charts are
// inline SVG drawn here from numbers; the one stylesheet and the small
// script (progressive enhancement only: every page works without it) are
// embedded with go:embed, so the console needs no CDN, no web fonts and no
// JavaScript toolchain.
//
// The console has no data access of its own. Every figure it shows and
// every action it takes is an in-process call of the admin API (Options.API,
// the same /v1 route table curl reaches, minus the bearer check that the
// console's session stands in for), decoded into the store's own types. A
// page therefore cannot disagree with the API, and whatever the API
// validates the console gets validated too.
//
// Security: sign-in with the admin token (compared in constant time by
// Options.CheckToken) creates a random session id held in an HttpOnly,
// SameSite=Strict cookie scoped to /ui/ (Secure over TLS) that expires;
// sessions live in memory. Every state-changing request is a POST carrying
// the session's CSRF token in a form field, checked in constant time, and
// is refused when the browser says it came from another site. Every answer
// carries a strict Content-Security-Policy (no inline script or style), and
// nosniff, no-referrer and no-store headers. Failed sign-ins are rate
// limited per client address.
package console

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

//go:embed static templates
var assets embed.FS

// Prefix is the path under which the console is served.
const Prefix = "/ui/"

// Options configure New.
type Options struct {
	// API serves one admin API request in process (paths under /v1/, plus
	// /readyz), without the bearer token check: the console calls it only
	// for signed-in sessions. Required.
	API fasthttp.RequestHandler
	// CheckToken reports whether token is the admin token, in constant
	// time. Required.
	CheckToken func(token []byte) bool
	// SessionTTL is how long a sign-in lasts (default 8h).
	SessionTTL time.Duration
	// Logger receives sign-in and action logs (default slog.Default()).
	Logger *slog.Logger
}

// DefaultSessionTTL is the session lifetime when Options.SessionTTL is 0.
const DefaultSessionTTL = 8 * time.Hour

// Console serves /ui/. Create it with New; it is safe for concurrent use.
type Console struct {
	api        fasthttp.RequestHandler
	checkToken func([]byte) bool
	log        *slog.Logger
	sessions   *sessions
	limiter    *loginLimiter
	pages      map[string]*page
	static     fs.FS
}

// New builds the console.
func New(o Options) (*Console, error) {
	if o.API == nil || o.CheckToken == nil {
		return nil, errors.New("console: Options.API and Options.CheckToken are required")
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, fmt.Errorf("console: static assets: %w", err)
	}
	return &Console{
		api:        o.API,
		checkToken: o.CheckToken,
		log:        o.Logger,
		sessions:   newSessions(o.SessionTTL),
		limiter:    newLoginLimiter(),
		pages:      pages,
		static:     static,
	}, nil
}

// Headers every console answer carries.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func setSecurityHeaders(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// Serve answers a request for /ui or anything under /ui/.
func (c *Console) Serve(ctx *fasthttp.RequestCtx) {
	setSecurityHeaders(ctx)
	p := string(ctx.Path())
	if p == "/ui" {
		ctx.Redirect(Prefix, fasthttp.StatusMovedPermanently)
		return
	}
	rest := strings.TrimPrefix(p, Prefix)
	if strings.HasPrefix(rest, "static/") {
		c.serveStatic(ctx, strings.TrimPrefix(rest, "static/"))
		return
	}
	method := string(ctx.Method())
	if method != fasthttp.MethodGet && method != fasthttp.MethodHead && method != fasthttp.MethodPost {
		ctx.Response.Header.Set("Allow", "GET, HEAD, POST")
		c.plainError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if method == fasthttp.MethodPost && crossSite(ctx) {
		c.plainError(ctx, fasthttp.StatusForbidden, "cross-site request refused")
		return
	}
	if rest == "login" && method == fasthttp.MethodPost {
		c.login(ctx)
		return
	}
	sess := c.sessions.get(ctx)
	if sess == nil {
		if method == fasthttp.MethodPost {
			c.plainError(ctx, fasthttp.StatusForbidden, "not signed in (or the session expired): sign in again at "+Prefix)
			return
		}
		if rest == "" {
			c.render(ctx, nil, "login", loginData{Next: safeNext(string(ctx.QueryArgs().Peek("next")))})
			return
		}
		// Any other page: sign in first, then come back here.
		ctx.Redirect(Prefix+"?next="+url.QueryEscape(string(ctx.RequestURI())), fasthttp.StatusSeeOther)
		return
	}
	if method == fasthttp.MethodPost {
		if !sess.csrfOK(ctx.PostArgs().Peek("csrf")) {
			c.plainError(ctx, fasthttp.StatusForbidden, "missing or wrong CSRF token: reload the page and try again")
			return
		}
		c.post(ctx, sess, rest)
		return
	}
	c.get(ctx, sess, rest)
}

// crossSite reports whether the browser says a POST came from another
// site (Sec-Fetch-Site, else an Origin that is not this host). The CSRF
// token is the real check; this refuses such requests before any work.
func crossSite(ctx *fasthttp.RequestCtx) bool {
	switch string(ctx.Request.Header.Peek("Sec-Fetch-Site")) {
	case "cross-site", "same-site":
		return true
	}
	// Under Referrer-Policy: no-referrer browsers send "Origin: null" even
	// for same-origin form posts, so only a real, different origin counts.
	origin := ctx.Request.Header.Peek("Origin")
	if len(origin) == 0 || string(origin) == "null" {
		return false
	}
	u, err := url.Parse(string(origin))
	if err != nil || u.Host == "" {
		return true
	}
	return !strings.EqualFold(u.Host, string(ctx.Host()))
}

// serveStatic serves an embedded asset.
func (c *Console) serveStatic(ctx *fasthttp.RequestCtx, name string) {
	if name == "" || strings.Contains(name, "..") {
		c.plainError(ctx, fasthttp.StatusNotFound, "no such asset")
		return
	}
	b, err := fs.ReadFile(c.static, name)
	if err != nil {
		c.plainError(ctx, fasthttp.StatusNotFound, "no such asset")
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	ctx.SetContentType(ct)
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetBody(b)
}

// plainError answers a short text error (used where no page can be drawn).
func (c *Console) plainError(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(msg + "\n")
}

// --- the in-process admin API ---

// apiError is an admin API answer of 400 or more.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Msg) }

// unavailable reports whether err says a feature is off (404/503), as the
// Okta endpoints answer without an org.
func unavailable(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Status == fasthttp.StatusNotFound || ae.Status == fasthttp.StatusServiceUnavailable)
}

// apiResult is one in-process call's answer.
type apiResult struct {
	Status int
	Body   []byte
	// Next is the "after" cursor of the Link rel="next" header ("" = none).
	Next string
}

// call runs one admin API request in process and decodes a 2xx JSON body
// into out (when out is not nil). A status of 400 or more is an *apiError
// with the API's message.
func (c *Console) call(method, p string, args url.Values, form url.Values, out any) (apiResult, error) {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	uri := p
	if len(args) > 0 {
		uri += "?" + args.Encode()
	}
	req.SetRequestURI(uri)
	req.Header.SetHost("hookgate.console")
	if form != nil {
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString(form.Encode())
	}
	var rc fasthttp.RequestCtx
	rc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, nil)
	c.api(&rc)
	res := apiResult{Status: rc.Response.StatusCode(), Body: append([]byte(nil), rc.Response.Body()...)}
	if link := string(rc.Response.Header.Peek("Link")); link != "" {
		res.Next = nextCursor(link)
	}
	if res.Status >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(res.Body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(res.Body))
		}
		return res, &apiError{Status: res.Status, Msg: e.Error}
	}
	if out != nil && len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, out); err != nil {
			return res, fmt.Errorf("console: decode %s %s: %w", method, p, err)
		}
	}
	return res, nil
}

// get is call for GET.
func (c *Console) getJSON(p string, args url.Values, out any) (apiResult, error) {
	return c.call(fasthttp.MethodGet, p, args, nil, out)
}

// nextCursor extracts after= from `<...?limit=..&after=X>; rel="next"`.
func nextCursor(link string) string {
	start, end := strings.IndexByte(link, '<'), strings.IndexByte(link, '>')
	if start < 0 || end <= start || !strings.Contains(link[end:], `rel="next"`) {
		return ""
	}
	u, err := url.Parse(link[start+1 : end])
	if err != nil {
		return ""
	}
	return u.Query().Get("after")
}

// seg escapes one path segment of an API or console path.
func seg(s string) string { return url.PathEscape(s) }

// atoiDefault parses a non-negative int, or returns def.
func atoiDefault(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return def
	}
	return n
}
