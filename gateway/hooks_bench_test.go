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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/store"
)

// Inline hook benchmark shape: concurrent callers, each sending pre_approval
// requests back to back over keep-alive connections; alice (on call) and bob
// (not) alternate.
const (
	hookBenchCallers = 8
	hookBenchPerRun  = 1500 // requests per caller per target per round
	hookBenchRounds  = 2    // rounds alternate gateway / external endpoint
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
// beside the same decision served the way it is done today: an external
// net/http endpoint on loopback that parses the request and checks group
// membership in Go against the same store. The same fasthttp client drives
// both, in alternating rounds of the same run; it prints p50/p99 latency,
// requests/s and the ratio, then the bare warm plugin call (the Decider the
// gateway uses, no HTTP). Run with -benchtime=1x (make bench).
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

	// The external endpoint: same parse, same store, same answer.
	ext := &http.Server{Handler: externalPreApproval(hs.Store, "oncall-engineers")}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go ext.Serve(ln)
	defer ext.Shutdown(context.Background())

	gw := target{name: "gateway (wasm plugin)", addr: hs.URL[len("http://"):], path: "/hooks/pre_approval", auth: testHookSecret}
	ex := target{name: "external net/http endpoint", addr: ln.Addr().String(), path: "/pre_approval", auth: testHookSecret}
	for _, t := range []*target{&gw, &ex} {
		t.client = &fasthttp.HostClient{Addr: t.addr, MaxConns: hookBenchCallers * 2}
		// Both must give the same answers before being timed.
		for body, want := range map[*[]byte]string{&alice: `"APPROVED"`, &bob: `"NOT_APPROVED"`} {
			code, resp := t.do(*body)
			if code != 200 || !bytes.Contains(resp, []byte(`"response":`+want)) {
				b.Fatalf("%s: got %d %s, want %s", t.name, code, resp, want)
			}
		}
		t.run(alice, bob, 200) // warm-up
		t.lat = t.lat[:0]
		t.elapsed = 0
	}
	for range hookBenchRounds {
		gw.run(alice, bob, hookBenchPerRun)
		ex.run(alice, bob, hookBenchPerRun)
	}
	gp50, gp99, grps := gw.stats()
	ep50, ep99, erps := ex.stats()
	b.Logf("pre_approval, %d callers, %d requests per target (keep-alive, fasthttp client, same run):", hookBenchCallers, len(gw.lat))
	b.Logf("  %-28s p50 %8s  p99 %8s  %8.0f req/s", gw.name, gp50, gp99, grps)
	b.Logf("  %-28s p50 %8s  p99 %8s  %8.0f req/s", ex.name, ep50, ep99, erps)
	b.Logf("  ratio gateway/external: p50 %.2fx  p99 %.2fx  throughput %.2fx (higher is better for throughput)",
		float64(gp50)/float64(ep50), float64(gp99)/float64(ep99), grps/erps)
	b.ReportMetric(float64(gp50.Microseconds()), "gw-p50-µs")
	b.ReportMetric(float64(gp99.Microseconds()), "gw-p99-µs")
	b.ReportMetric(grps, "gw-req/s")
	b.ReportMetric(float64(ep50.Microseconds()), "ext-p50-µs")
	b.ReportMetric(erps, "ext-req/s")

	// The bare warm plugin call, through the same Decider type the gateway
	// uses, on a separately loaded copy over the same store.
	ps, err := gateway.LoadPlugins(context.Background(), hs.Config, hs.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer ps.Close()
	d := ps.Deciders()["oncall-preapproval"]
	for range 200 {
		d.Decide(context.Background(), "pre_approval", alice)
	}
	const n = 20000
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n {
		body := alice
		if i%2 == 1 {
			body = bob
		}
		t0 := time.Now()
		if _, err := d.Decide(context.Background(), "pre_approval", body); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	total := time.Since(start)
	slices.Sort(lat)
	b.Logf("  bare warm plugin call (oncall-preapproval, user lookup + is_member, no HTTP): p50 %s  p99 %s  mean %s",
		lat[len(lat)/2], lat[len(lat)*99/100], total/n)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "plugin-p50-µs")
}

// replacePluginPaths points gateway.toml's plugin paths at the test builds.
func replacePluginPaths(s string) string {
	return strings.ReplaceAll(s, `path = "build/plugins/`, `path = "{{wasm}}/`)
}

// externalPreApproval is today's way: an HTTP service doing the group
// check in Go against the identity store.
func externalPreApproval(st *store.Store, group string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != testHookSecret {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			TargetUser struct {
				Email string `json:"email"`
			} `json:"target_user"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		ok := false
		if u, err := st.LookupUser(req.TargetUser.Email); err == nil && (u.Status == nil || *u.Status == "ACTIVE") {
			ok, _ = st.IsMember(u.ID, group)
		}
		if ok {
			fmt.Fprintf(w, `{"response":"APPROVED","message":"%s is on call (%s)"}`, req.TargetUser.Email, group)
			return
		}
		fmt.Fprintf(w, `{"response":"NOT_APPROVED","message":"%s is not in %s; normal approval applies"}`, req.TargetUser.Email, group)
	})
}

// target is one endpoint under load.
type target struct {
	name, addr, path, auth string
	client                 *fasthttp.HostClient
	mu                     sync.Mutex
	lat                    []time.Duration
	elapsed                time.Duration
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
	var wg sync.WaitGroup
	start := time.Now()
	for c := range hookBenchCallers {
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
}

func (t *target) stats() (p50, p99 time.Duration, rps float64) {
	s := slices.Clone(t.lat)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100], float64(len(s)) / t.elapsed.Seconds()
}
