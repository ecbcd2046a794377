package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/gateway/hook"
	"github.com/hookgate/hookgate/gateway/okta/oktatest"
	"github.com/hookgate/hookgate/store"
)

// Inline hook benchmark shape: concurrent callers, each sending pre_approval
// requests back to back over keep-alive connections; alice (on call) and bob
// (not) alternate.
const (
	hookBenchCallers = 8
	hookBenchPerRun  = 1500 // requests per caller per target per round
	hookBenchRounds  = 2    // rounds alternate gateway / external endpoints
)

// sharedFixture reads ../shared/fixtures/<sub> for benchmarks.
func sharedFixture(tb testing.TB, sub string) []byte {
	tb.Helper()
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "shared", "fixtures", sub)
		if b, err := os.ReadFile(p); err == nil {
			return b
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("shared/fixtures/%s not found", sub)
		}
		dir = parent
	}
}

// BenchmarkInlineHookVsExternal measures the pre_approval hook through the
// gateway with the oncall-preapproval plugin (default gateway.toml routing)
// beside the same decision served by an external net/http endpoint on
// loopback, in two forms:
//
//   - "external, state in-process": the endpoint checks status and group
//     membership in Go against the same store (the best case for an
//     external service: it already holds a synced copy of Okta);
//   - "external, asks Okta API": the way it is done today: per request the
//     endpoint asks the Okta Management API (a stand-in on loopback,
//     oktatest seeded with the fixture org) for the group's members and
//     decides from the answer.
//
// The same fasthttp client drives all three, in alternating rounds of the
// same run; it prints p50/p99 latency, requests/s and the ratios, then the
// bare warm plugin call (the Decider the gateway uses, no HTTP). Run with
// -benchtime=1x (make bench).
func BenchmarkInlineHookVsExternal(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runInlineHookBench(b)
	}
}

func runInlineHookBench(b *testing.B) {
	b.Setenv("ZENDESK_API_TOKEN", "bench")
	cfgText, err := os.ReadFile("../gateway.toml")
	if err != nil {
		b.Fatal(err)
	}
	hs := startHookServer(b, replacePluginPaths(string(cfgText)))
	hs.postOkta(sharedFixture(b, "okta/batch.json"))
	alice := sharedFixture(b, "lumos/pre_approval.json")
	bob := sharedFixture(b, "lumos/pre_approval_not_oncall.json")

	// Today's way: a stand-in Okta org on loopback (no rate limit, so the
	// baseline is not throttled) and an endpoint that asks it.
	org := oktatest.New(oktatest.Options{APIToken: "bench-token", RateLimit: 1 << 30})
	defer org.Close()
	org.SeedFixtureOrg()

	var exts []*http.Server
	serve := func(h http.Handler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		exts = append(exts, srv)
		return ln.Addr().String()
	}
	defer func() {
		for _, s := range exts {
			s.Shutdown(context.Background())
		}
	}()
	oktaClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: hookBenchCallers * 2}}
	defer oktaClient.CloseIdleConnections()

	gw := &target{name: "gateway (wasm plugin)", addr: hs.URL[len("http://"):], path: "/hooks/pre_approval", auth: testHookSecret}
	ex := &target{name: "external, state in-process", addr: serve(externalPreApproval(hs.Store, "oncall-engineers")), path: "/pre_approval", auth: testHookSecret}
	ok := &target{name: "external, asks Okta API", addr: serve(oktaPreApproval(oktaClient, org.URL, "bench-token", oktatest.OncallID, "oncall-engineers")), path: "/pre_approval", auth: testHookSecret}
	// The same gateway with the plugin replaced by the same decision in
	// native Go (an in-process Decider over the same store): the difference
	// to the first target is what running the decision as a wasm plugin
	// costs; the difference to the in-process endpoint is the gateway's own
	// work (routing, metrics, audit record).
	nd := hook.NewDispatcher(dispatcherOptions(hs.Config,
		map[string]hook.Decider{"oncall-preapproval": nativeOncall{hs.Store, "oncall-engineers"}},
		hs.Audit, quietLogger()))
	nsrv := gateway.New(hs.Config, hs.Store, quietLogger())
	nsrv.EnableHooks(nd)
	nurl, nserved := serveLoopback(b, nsrv)
	defer func() {
		shutdown(b, nsrv)
		<-nserved
	}()
	nat := &target{name: "gateway, native Go decider", addr: nurl[len("http://"):], path: "/hooks/pre_approval", auth: testHookSecret}
	targets := []*target{gw, nat, ex, ok}
	for _, t := range targets {
		t.client = &fasthttp.HostClient{Addr: t.addr, MaxConns: hookBenchCallers * 2}
		// All must give the same answers before being timed.
		for body, want := range map[*[]byte]string{&alice: `"APPROVED"`, &bob: `"NOT_APPROVED"`} {
			code, resp := t.do(*body)
			if code != 200 || !bytes.Contains(resp, []byte(`"response":`+want)) {
				b.Fatalf("%s: got %d %s, want %s", t.name, code, resp, want)
			}
		}
		t.run(alice, bob, 200) // warm-up
	}
	b.Logf("load average at the start: %s", loadAvg())
	// Under load: throughput and queueing. Unloaded (one caller, one
	// request at a time): the latency a single Lumos call sees.
	gp50, gp99, grps := measureHookTargets(b, targets, hookBenchCallers, hookBenchPerRun, alice, bob)
	ep50, _, erps := ex.stats()
	op50, _, orps := ok.stats()
	b.ReportMetric(float64(gp50.Microseconds()), "gw-p50-µs")
	b.ReportMetric(float64(gp99.Microseconds()), "gw-p99-µs")
	b.ReportMetric(grps, "gw-req/s")
	b.ReportMetric(float64(ep50.Microseconds()), "ext-p50-µs")
	b.ReportMetric(erps, "ext-req/s")
	b.ReportMetric(float64(op50.Microseconds()), "okta-p50-µs")
	b.ReportMetric(orps, "okta-req/s")
	sp50, sp99, _ := measureHookTargets(b, targets, 1, hookBenchPerRun, alice, bob)
	b.ReportMetric(float64(sp50.Microseconds()), "gw-1caller-p50-µs")
	b.ReportMetric(float64(sp99.Microseconds()), "gw-1caller-p99-µs")
	b.Logf("load average at the end: %s", loadAvg())

	// The bare warm plugin call, through the same Decider type the gateway
	// uses, on a separately loaded copy over the same store.
	ps, err := hook.LoadPlugins(context.Background(), gateway.PluginOptions(hs.Config), hs.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer ps.Close()
	d := ps.Deciders()["oncall-preapproval"]
	// Parse and call, as the Dispatcher does.
	decide := func(body []byte) error {
		req, err := hook.ParseHookRequest(body)
		if err != nil {
			return err
		}
		_, err = d.Decide(context.Background(), "pre_approval", body, req)
		return err
	}
	for range 200 {
		decide(alice)
	}
	const n = 20000
	lat := [2][]time.Duration{make([]time.Duration, 0, n/2), make([]time.Duration, 0, n/2)}
	start := time.Now()
	for i := range n {
		body := alice
		if i%2 == 1 {
			body = bob
		}
		t0 := time.Now()
		if err := decide(body); err != nil {
			b.Fatal(err)
		}
		lat[i%2] = append(lat[i%2], time.Since(t0))
	}
	total := time.Since(start)
	all := slices.Concat(lat[0], lat[1])
	slices.Sort(all)
	for i := range lat {
		slices.Sort(lat[i])
	}
	b.Logf("  bare warm plugin call (oncall-preapproval, no HTTP, request parsed as the Dispatcher does): p50 %s  p99 %s  mean %s; member (is_member + user_get) p50 %s, non-member (is_member) p50 %s",
		all[len(all)/2], all[len(all)*99/100], total/n, lat[0][len(lat[0])/2], lat[1][len(lat[1])/2])
	b.ReportMetric(float64(all[len(all)/2].Nanoseconds())/1000, "plugin-p50-µs")
}

// measureHookTargets runs alternating rounds of callers x perCaller
// requests against each target, logs p50/p99, throughput and process CPU
// per request beside the ratios to the first target (the gateway), and
// returns the gateway's p50, p99 and requests/s.
func measureHookTargets(b *testing.B, targets []*target, callers, perCaller int, alice, bob []byte) (p50, p99 time.Duration, rps float64) {
	for _, t := range targets {
		t.lat, t.elapsed, t.cpu = t.lat[:0], 0, 0
	}
	for range hookBenchRounds {
		for _, t := range targets {
			t.runN(alice, bob, callers, perCaller)
		}
	}
	gw := targets[0]
	b.Logf("pre_approval, %d caller(s), %d requests per target (keep-alive, fasthttp client, alternating rounds, same run):", callers, len(gw.lat))
	gp50, gp99, grps := gw.stats()
	for _, t := range targets {
		p50, p99, rps := t.stats()
		b.Logf("  %-28s p50 %9s  p99 %9s  %8.0f req/s  process CPU %6.1f µs/req (%.2f of %d cores busy)", t.name, p50.Round(time.Microsecond), p99.Round(time.Microsecond), rps,
			float64(t.cpu.Nanoseconds())/1000/float64(len(t.lat)), t.cpu.Seconds()/t.elapsed.Seconds(), runtime.GOMAXPROCS(0))
	}
	for _, t := range targets[1:] {
		p50, p99, rps := t.stats()
		b.Logf("  ratio gateway / %-26s p50 %.2fx  p99 %.2fx  throughput %.2fx (latency: lower is better; throughput: higher is better)",
			t.name+":", float64(gp50)/float64(p50), float64(gp99)/float64(p99), grps/rps)
	}
	return gp50, gp99, grps
}

// replacePluginPaths points gateway.toml's plugin paths at the test builds.
func replacePluginPaths(s string) string {
	return strings.ReplaceAll(s, `path = "build/plugins/`, `path = "{{wasm}}/`)
}

// externalPreApproval is the best case for an external service: it holds
// the identity state in-process (the same store) and checks status and
// group membership in Go.
func externalPreApproval(st *store.Store, group string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email, ok := decodeLumosEmail(w, r)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		member := false
		if u, err := st.LookupUser(email); err == nil && (u.Status == nil || *u.Status == "ACTIVE") {
			member, _ = st.IsMember(u.ID, group)
		}
		if member {
			fmt.Fprintf(w, `{"response":"APPROVED","message":"%s is on call (%s)"}`, email, group)
			return
		}
		fmt.Fprintf(w, `{"response":"NOT_APPROVED","message":"%s is not in %s; normal approval applies"}`, email, group)
	})
}

// nativeOncall is oncall-preapproval's decision as an in-process Go
// Decider: ACTIVE members of group are approved.
type nativeOncall struct {
	st    *store.Store
	group string
}

func (n nativeOncall) Decide(_ context.Context, _ string, _ []byte, req *hook.HookRequest) (hook.Decision, error) {
	email := req.TargetUser.Email
	if ok, err := n.st.IsMember(email, n.group); err != nil || !ok {
		return hook.Decision{Message: email + " is not in " + n.group + "; normal approval applies"}, err
	}
	if u, err := n.st.LookupUser(email); err != nil || (u.Status != nil && *u.Status != "ACTIVE") {
		return hook.Decision{Message: email + " is not active; normal approval applies"}, nil
	}
	return hook.Decision{Success: true, Message: email + " is on call (" + n.group + ")"}, nil
}

// decodeLumosEmail reads the target user's email from a Lumos hook body
// the way a Go service would (encoding/json).
func decodeLumosEmail(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Header.Get("Authorization") != testHookSecret {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return "", false
	}
	var req struct {
		TargetUser struct {
			Email string `json:"email"`
		} `json:"target_user"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
		return "", false
	}
	return req.TargetUser.Email, true
}

// oktaPreApproval is how it is done today: per request, the service asks
// the Okta Management API for the group's members (GET
// /api/v1/groups/{id}/users, which carries each member's status and login)
// and approves an ACTIVE member. (Okta's GET /api/v1/users/{login}/groups
// would do as one call too, but it lacks the status, and the oktatest
// stand-in does not serve it.) The fixture group fits one page; a next
// page is refused rather than silently ignored.
func oktaPreApproval(c *http.Client, orgURL, token, groupID, group string) http.Handler {
	url := orgURL + "/api/v1/groups/" + groupID + "/users?limit=200"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email, ok := decodeLumosEmail(w, r)
		if !ok {
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), "GET", url, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header.Set("Authorization", "SSWS "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			http.Error(w, `{"error":"okta unreachable"}`, http.StatusBadGateway)
			return
		}
		var members []struct {
			Status  string `json:"status"`
			Profile struct {
				Login string `json:"login"`
				Email string `json:"email"`
			} `json:"profile"`
		}
		err = json.NewDecoder(resp.Body).Decode(&members)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
			http.Error(w, fmt.Sprintf(`{"error":"okta answered %d (%v)"}`, resp.StatusCode, err), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		for _, m := range members {
			if (strings.EqualFold(m.Profile.Login, email) || strings.EqualFold(m.Profile.Email, email)) && m.Status == "ACTIVE" {
				fmt.Fprintf(w, `{"response":"APPROVED","message":"%s is on call (%s)"}`, email, group)
				return
			}
		}
		fmt.Fprintf(w, `{"response":"NOT_APPROVED","message":"%s is not in %s; normal approval applies"}`, email, group)
	})
}

// target is one endpoint under load.
type target struct {
	name, addr, path, auth string
	client                 *fasthttp.HostClient
	mu                     sync.Mutex
	lat                    []time.Duration
	elapsed                time.Duration
	cpu                    time.Duration // process CPU (server, client, stand-ins) during timed runs
}

func (t *target) do(body []byte) (int, []byte) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + t.addr + t.path)
	req.Header.SetMethod("POST")
	req.Header.Set("Authorization", t.auth)
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	if err := t.client.Do(req, resp); err != nil {
		return 0, []byte(err.Error())
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...)
}

// run sends perCaller requests from each of hookBenchCallers goroutines.
func (t *target) run(alice, bob []byte, perCaller int) {
	t.runN(alice, bob, hookBenchCallers, perCaller)
}

// runN sends perCaller requests from each of callers goroutines.
func (t *target) runN(alice, bob []byte, callers, perCaller int) {
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), processCPU()
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			lat := make([]time.Duration, 0, perCaller)
			for i := range perCaller {
				body := alice
				if (i+c)%2 == 1 {
					body = bob
				}
				req.Reset()
				req.SetRequestURI("http://" + t.addr + t.path)
				req.Header.SetMethod("POST")
				req.Header.Set("Authorization", t.auth)
				req.Header.SetContentType("application/json")
				req.SetBody(body)
				t0 := time.Now()
				err := t.client.Do(req, resp)
				lat = append(lat, time.Since(t0))
				if err != nil || resp.StatusCode() != 200 {
					panic(fmt.Sprintf("%s: %v %d %s", t.name, err, resp.StatusCode(), resp.Body()))
				}
			}
			t.mu.Lock()
			t.lat = append(t.lat, lat...)
			t.mu.Unlock()
		}()
	}
	wg.Wait()
	t.elapsed += time.Since(start)
	t.cpu += processCPU() - cpu0
}

func (t *target) stats() (p50, p99 time.Duration, rps float64) {
	s := slices.Clone(t.lat)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100], float64(len(s)) / t.elapsed.Seconds()
}
