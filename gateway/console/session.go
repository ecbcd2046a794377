package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// cookieName is the session cookie.
const cookieName = "hookgate_session"

// maxSessions bounds the sessions kept in memory; signing in beyond it
// ends the session closest to expiry.
const maxSessions = 1000

// session is one signed-in browser.
type session struct {
	id      string
	csrf    string
	expires time.Time

	mu    sync.Mutex
	flash *flash // shown once on the next page
}

// flash is a message for the next page after an action.
type flash struct {
	OK  bool
	Msg string
}

func (s *session) setFlash(ok bool, msg string) {
	s.mu.Lock()
	s.flash = &flash{OK: ok, Msg: msg}
	s.mu.Unlock()
}

func (s *session) takeFlash() *flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
}

// csrfOK compares a presented CSRF token with the session's in constant
// time.
func (s *session) csrfOK(tok []byte) bool {
	return len(tok) == len(s.csrf) && subtle.ConstantTimeCompare(tok, []byte(s.csrf)) == 1
}

// sessions are the signed-in browsers, in memory: a restart signs
// everyone out.
type sessions struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, m: map[string]*session{}, now: time.Now}
}

// randomToken returns 32 random bytes as hex.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// create starts a session.
func (ss *sessions) create() *session {
	now := ss.now()
	s := &session{id: randomToken(), csrf: randomToken(), expires: now.Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, o := range ss.m {
		if !now.Before(o.expires) {
			delete(ss.m, id)
		}
	}
	if len(ss.m) >= maxSessions {
		var oldest *session
		for _, o := range ss.m {
			if oldest == nil || o.expires.Before(oldest.expires) {
				oldest = o
			}
		}
		delete(ss.m, oldest.id)
	}
	ss.m[s.id] = s
	return s
}

// get returns the request's live session, or nil.
func (ss *sessions) get(ctx *fasthttp.RequestCtx) *session {
	id := ctx.Request.Header.Cookie(cookieName)
	if len(id) != 64 {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[string(id)]
	if s == nil {
		return nil
	}
	if !ss.now().Before(s.expires) {
		delete(ss.m, s.id)
		return nil
	}
	return s
}

// end removes a session.
func (ss *sessions) end(s *session) {
	ss.mu.Lock()
	delete(ss.m, s.id)
	ss.mu.Unlock()
}

// setCookie sets (or, with s nil, clears) the session cookie.
func setCookie(ctx *fasthttp.RequestCtx, s *session) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(cookieName)
	c.SetPath(Prefix)
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetSecure(ctx.IsTLS())
	if s == nil {
		c.SetValue("")
		c.SetMaxAge(-1)
		c.SetExpire(fasthttp.CookieExpireDelete)
	} else {
		c.SetValue(s.id)
		c.SetExpire(s.expires)
		c.SetMaxAge(int(time.Until(s.expires).Seconds()))
	}
	ctx.Response.Header.SetCookie(c)
}

// --- sign-in rate limiting ---

// Failed sign-ins allowed per client address per window.
const (
	loginFailures = 10
	loginWindow   = time.Minute
	maxLimited    = 10000 // addresses tracked; beyond it the table is reset
)

type loginLimiter struct {
	mu  sync.Mutex
	m   map[string]*failures
	now func() time.Time
}

type failures struct {
	n     int
	since time.Time
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{m: map[string]*failures{}, now: time.Now}
}

func clientKey(ctx *fasthttp.RequestCtx) string {
	addr := ctx.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// blocked reports whether the address has used up its failures.
func (l *loginLimiter) blocked(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[key]
	if f == nil {
		return false
	}
	if l.now().Sub(f.since) >= loginWindow {
		delete(l.m, key)
		return false
	}
	return f.n >= loginFailures
}

// fail counts a failed sign-in.
func (l *loginLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= maxLimited {
		l.m = map[string]*failures{}
	}
	f := l.m[key]
	if f == nil || l.now().Sub(f.since) >= loginWindow {
		f = &failures{since: l.now()}
		l.m[key] = f
	}
	f.n++
}

// --- sign-in and sign-out ---

// loginData is the sign-in page's data.
type loginData struct {
	Error string
	Next  string
}

// safeNext returns next if it is a console path (no scheme, host or
// backslash tricks), else the console's root.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, Prefix+"/") ||
		strings.ContainsAny(next, "\\\r\n") || strings.Contains(next, "//") {
		return Prefix
	}
	return next
}

// login handles POST /ui/login.
func (c *Console) login(ctx *fasthttp.RequestCtx) {
	key := clientKey(ctx)
	next := safeNext(string(ctx.PostArgs().Peek("next")))
	if c.limiter.blocked(key) {
		ctx.SetStatusCode(fasthttp.StatusTooManyRequests)
		ctx.Response.Header.Set("Retry-After", "60")
		c.render(ctx, nil, "login", loginData{Error: "Too many failed sign-ins from this address; wait a minute.", Next: next})
		return
	}
	tok := ctx.PostArgs().Peek("token")
	if !c.checkToken(tok) {
		c.limiter.fail(key)
		c.log.Warn("console sign-in refused", "remote", key)
		ctx.SetStatusCode(fasthttp.StatusUnauthorized)
		c.render(ctx, nil, "login", loginData{Error: "Wrong admin token.", Next: next})
		return
	}
	s := c.sessions.create()
	setCookie(ctx, s)
	c.log.Info("console sign-in", "remote", key)
	ctx.Redirect(next, fasthttp.StatusSeeOther)
}

// logout handles POST /ui/logout (CSRF already checked).
func (c *Console) logout(ctx *fasthttp.RequestCtx, s *session) {
	c.sessions.end(s)
	setCookie(ctx, nil)
	ctx.Redirect(Prefix, fasthttp.StatusSeeOther)
}
