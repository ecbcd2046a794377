package console

import (
	"github.com/hookgate/hookgate/gateway/api"

	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/users?q=alice":        "/ui/users?q=alice",
		"/ui/":                     "/ui/",
		"":                         "/ui/",
		"https://evil.example/ui/": "/ui/",
		"//evil.example/ui/":       "/ui/",
		"/ui//evil.example":        "/ui/",
		"/ui/\\evil":               "/ui/",
		"/v1/users":                "/ui/",
		"/ui/x\r\nSet-Cookie: a=b": "/ui/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessionsExpireAndAreBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ss := newSessions(time.Hour)
	ss.now = func() time.Time { return now }
	s := ss.create()
	if len(s.id) != 64 || len(s.csrf) != 64 || s.id == s.csrf {
		t.Fatalf("session id %q csrf %q", s.id, s.csrf)
	}
	get := func(id string) *session {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetCookie(cookieName, id)
		return ss.get(&ctx)
	}
	if get(s.id) != s {
		t.Fatal("fresh session not found")
	}
	if get(strings.Repeat("a", 64)) != nil || get("") != nil {
		t.Fatal("unknown ids found a session")
	}
	if !s.csrfOK([]byte(s.csrf)) || s.csrfOK([]byte(s.csrf[:63])) || s.csrfOK(nil) || s.csrfOK([]byte(strings.Repeat("0", 64))) {
		t.Fatal("csrf check wrong")
	}
	now = now.Add(time.Hour)
	if get(s.id) != nil {
		t.Fatal("expired session still valid")
	}
	for range maxSessions + 10 {
		ss.create()
	}
	if n := len(ss.m); n != maxSessions {
		t.Fatalf("%d sessions kept, want the bound %d", n, maxSessions)
	}
}

func TestLoginLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter()
	l.now = func() time.Time { return now }
	for i := range loginFailures {
		if l.blocked("1.2.3.4") {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("1.2.3.4")
	}
	if !l.blocked("1.2.3.4") {
		t.Fatal("not blocked after the allowed failures")
	}
	if l.blocked("5.6.7.8") {
		t.Fatal("another address is blocked")
	}
	now = now.Add(loginWindow)
	if l.blocked("1.2.3.4") {
		t.Fatal("still blocked after the window")
	}
}

func TestChartsFromMinutes(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, 1: 1, 3: 5, 7: 10, 12: 20, 450: 500, 1000: 1000} {
		if got := niceMax(v); got != want {
			t.Errorf("niceMax(%v) = %v, want %v", v, got, want)
		}
	}
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	ms := make([]api.MinuteStats, 60)
	for i := range ms {
		ms[i].Start = start.Add(time.Duration(i) * time.Minute)
	}
	ms[10].EventsAccepted = 4
	ms[20].HookSuccess, ms[20].HookFailure = 3, 1
	ms[20].PluginCalls, ms[20].PluginMeanMs, ms[20].PluginMaxMs = 4, 1.5, 4
	cs := overviewCharts(ms)
	if len(cs) != 3 {
		t.Fatalf("%d charts", len(cs))
	}
	if len(cs[0].Bars) != 1 || cs[0].Bars[0].Tip != "10:10: 4 accepted" || cs[0].Summary != "4 events accepted in the last hour" {
		t.Errorf("events chart: %+v", cs[0].Bars)
	}
	if len(cs[1].Bars) != 2 || cs[1].Bars[0].H <= cs[1].Bars[1].H {
		t.Errorf("decisions chart (success 3 stacked under failure 1): %+v", cs[1].Bars)
	}
	// The bars stand on the axis and fit in the plot.
	for _, b := range append(cs[0].Bars, cs[1].Bars...) {
		if b.Y < padT || b.Y+b.H > float64(chartH-padB)+0.001 {
			t.Errorf("bar outside the plot: %+v", b)
		}
	}
	if len(cs[2].Lines) != 2 || len(cs[2].Lines[0].Dots) != 1 || !strings.Contains(cs[2].Lines[1].Dots[0].Tip, "slowest 4 ms") {
		t.Errorf("latency chart: %+v", cs[2].Lines)
	}
}

func TestTemplatesParse(t *testing.T) {
	c, err := New(Options{API: func(*fasthttp.RequestCtx) {}, CheckToken: func([]byte) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.pages) != len(pageNames) {
		t.Fatalf("%d pages parsed, want %d", len(c.pages), len(pageNames))
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without API accepted")
	}
}

// TestOverviewShowsCluster renders the overview over an admin API that
// answers /v1/cluster (as a clustered gateway does) and nothing else.
func TestOverviewShowsCluster(t *testing.T) {
	api := func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/v1/cluster" {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			ctx.SetBodyString(`{"error":"no such endpoint"}`)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"leader":"node-a","term":7,"nodes":[
			{"id":"node-a","raft_addr":"10.0.0.1:8201","state":"leader","applied_index":42,"commit_index":42,"last_contact":"0s","voter":true},
			{"id":"<b>node-b</b>","raft_addr":"10.0.0.2:8201","state":"follower","applied_index":41,"commit_index":42,"last_contact":"12ms","voter":true}]}`)
	}
	c, err := New(Options{API: api, CheckToken: func([]byte) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	s := c.sessions.create()
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/ui/")
	ctx.Request.Header.SetCookie(cookieName, s.id)
	c.Serve(&ctx)
	body := string(ctx.Response.Body())
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("overview: %d %s", ctx.Response.StatusCode(), body)
	}
	for _, want := range []string{"Leader <strong>node-a</strong>, term 7", "10.0.0.2:8201", "&lt;b&gt;node-b&lt;/b&gt;", "12ms"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, "<b>node-b") {
		t.Error("a node id became markup")
	}
}
