package plugins

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"
	"strings"
	"testing"
)

func TestNonPublic(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1":                "loopback",
		"127.9.9.9":                "loopback",
		"::1":                      "loopback",
		"::ffff:127.0.0.1":         "loopback",
		"169.254.169.254":          "cloud metadata",
		"::ffff:169.254.169.254":   "cloud metadata",
		"fe80::1":                  "link-local",
		"10.1.2.3":                 "private",
		"172.16.0.1":               "private",
		"192.168.1.1":              "private",
		"fd00:ec2::254":            "private",
		"0.0.0.0":                  "unspecified",
		"::":                       "unspecified",
		"0.1.2.3":                  "this network",
		"100.100.100.200":          "carrier-grade NAT",
		"64:ff9b::7f00:1":          "loopback (through NAT64)",
		"2002:a9fe:a9fe::1":        "metadata service (through 6to4)",
		"239.1.2.3":                "multicast",
		"224.0.0.1":                "link-local",
		"255.255.255.255":          "broadcast",
		"8.8.8.8":                  "",
		"2606:4700:4700::1111":     "",
		"::ffff:8.8.8.8":           "",
		"64:ff9b::808:808":         "",
		"93.184.215.14":            "",
		"2a00:1450:4001:82b::200e": "",
	} {
		got := nonPublic(netip.MustParseAddr(addr))
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("nonPublic(%s) = %q, want %q", addr, got, want)
		}
	}
}

// fakeDNS makes lookupIPAddr answer names from m (anything else: the real
// resolver) for the rest of the test.
func fakeDNS(t *testing.T, m map[string][]string) {
	real := lookupIPAddr
	lookupIPAddr = func(ctx context.Context, host string) ([]net.IPAddr, error) {
		ips, ok := m[host]
		if !ok {
			return real(ctx, host)
		}
		var out []net.IPAddr
		for _, s := range ips {
			out = append(out, net.IPAddr{IP: net.ParseIP(s)})
		}
		return out, nil
	}
	t.Cleanup(func() { lookupIPAddr = real })
}

// listenOn serves h on ip:0 and returns the port.
func listenOn(t testing.TB, ip string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// credEcho answers with the credentials the request carried.
func credEcho(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s auth=%q cookie=%q proxy=%q x-test=%q", name, r.Header.Get("Authorization"), r.Header.Get("Cookie"),
			r.Header.Get("Proxy-Authorization"), r.Header.Get("X-Test"))
	}
}

// TestHTTPRedirectDropsCredentials: a redirect within the origin keeps the
// plugin's Authorization, Cookie and Proxy-Authorization; one to another
// allowed host (127.0.0.2, loopback like 127.0.0.1 but another host)
// drops them and keeps the other headers.
func TestHTTPRedirectDropsCredentials(t *testing.T) {
	portB := listenOn(t, "127.0.0.2", credEcho("B"))
	var portA string
	mux := http.NewServeMux()
	mux.Handle("/echo", credEcho("A"))
	mux.HandleFunc("/same", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:"+portA+"/echo", http.StatusFound)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+portB+"/echo", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/away-and-back", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+portB+"/echo", http.StatusMovedPermanently)
	})
	portA = listenOn(t, "127.0.0.1", mux)

	cfg := kitchenConfig("cred")
	cfg.AllowedHosts = []string{"127.0.0.1:" + portA, "127.0.0.2:" + portB}
	p := load(t, newHost(t, HostOptions{}), cfg)
	const all = `auth="Bearer plugin-secret" cookie="session=plugin-cookie" proxy="Basic cHJveHk=" x-test="1"`
	const none = `auth="" cookie="" proxy="" x-test="1"`
	for path, want := range map[string]string{
		"/echo": "200 A " + all,
		"/same": "200 A " + all,
		"/away": "200 B " + none,
	} {
		res := call(t, p, "provisioning", "httpcred:http://127.0.0.1:"+portA+path)
		if !res.Decision.Success || res.Decision.Message != want {
			t.Errorf("%s: %+v, want %q", path, res.Decision, want)
		}
	}
	// Directly to B, the plugin's own credentials go along.
	if res := call(t, p, "provisioning", "httpcred:http://127.0.0.2:"+portB+"/echo"); res.Decision.Message != "200 B "+all {
		t.Errorf("direct to B: %+v", res.Decision)
	}
}

// TestHTTPAddressChecks: a name in allowed_hosts that resolves to a
// loopback, metadata or private address is refused (ERR_DENIED, naming
// the address and why) unless allowed_hosts lists that address itself;
// the connection goes to the checked address.
func TestHTTPAddressChecks(t *testing.T) {
	port := listenOn(t, "127.0.0.1", credEcho("A"))
	fakeDNS(t, map[string][]string{
		"metadata.test": {"169.254.169.254"},
		"mapped.test":   {"::ffff:10.0.0.1"},
		"ula.test":      {"fd00:ec2::254"},
		"mixed.test":    {"10.9.9.9", "127.0.0.1"},
		"public.test":   {"93.184.215.14"},
	})
	h := newHost(t, HostOptions{})
	cases := []struct {
		name    string
		allowed []string
		url     string
		want    string
		ok      bool
	}{
		// The real resolver: localhost is 127.0.0.1 (and ::1).
		{"name to loopback", []string{"localhost:" + port}, "http://localhost:" + port + "/x",
			"localhost resolves to 127.0.0.1 (loopback)", false},
		{"name to loopback, address listed", []string{"localhost:" + port, "127.0.0.1:" + port}, "http://localhost:" + port + "/x",
			"200 A", true},
		{"IP literal listed", []string{"127.0.0.1:" + port}, "http://127.0.0.1:" + port + "/x", "200 A", true},
		{"metadata", []string{"metadata.test"}, "http://metadata.test/latest/meta-data/",
			"metadata.test resolves to 169.254.169.254 (link-local, the cloud metadata service)", false},
		{"IPv4-mapped private", []string{"mapped.test:*"}, "http://mapped.test:8080/", "10.0.0.1 (private)", false},
		{"IPv6 ULA (AWS IPv6 metadata)", []string{"ula.test"}, "http://ula.test/", "fd00:ec2::254 (private)", false},
		{"only the listed address is dialled", []string{"mixed.test:" + port, "127.0.0.1"}, "http://mixed.test:" + port + "/x", "200 A", true},
		{"unspecified literal", []string{"0.0.0.0:" + port, "zero.test:" + port}, "http://0.0.0.0:" + port + "/x", "200 A", true},
		{"port rule", []string{"127.0.0.1"}, "http://127.0.0.1:" + port + "/x", "scheme's default port only", false},
		{"any port", []string{"127.0.0.1:*"}, "http://127.0.0.1:" + port + "/x", "200 A", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := kitchenConfig("net")
			cfg.AllowedHosts = c.allowed
			cfg.PoolSize = 1
			p := load(t, h, cfg)
			res := call(t, p, "provisioning", "httpcred:"+c.url)
			if res.Decision.Success != c.ok || !strings.Contains(res.Decision.Message, c.want) {
				t.Fatalf("%s: %+v, want success=%v and %q", c.url, res.Decision, c.ok, c.want)
			}
			if !c.ok && strings.Contains(c.want, "(") && !strings.Contains(res.Decision.Message, "allowed_hosts names the address itself") {
				t.Errorf("refusal does not say how to allow it: %s", res.Decision.Message)
			}
		})
	}
	// A redirect from an allowed literal to the metadata address is refused
	// by the allow-list, and to a name resolving there by the address check.
	redir := listenOn(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://metadata.test"+r.URL.Path, http.StatusFound)
	}))
	cfg := kitchenConfig("net-redirect")
	cfg.AllowedHosts = []string{"127.0.0.1:" + redir, "metadata.test"}
	p := load(t, h, cfg)
	if res := call(t, p, "provisioning", "httpcred:http://127.0.0.1:"+redir+"/latest"); res.Decision.Success ||
		!strings.Contains(res.Decision.Message, "169.254.169.254 (link-local, the cloud metadata service)") {
		t.Fatalf("redirect to the metadata service: %+v", res.Decision)
	}
}

// BenchmarkPluginHTTP: the cost of netguard's address checks on a plugin
// HTTP call (the kitchen's httpcred GET to a local server), beside the same
// plugin whose client dials with fasthttp's default dialer, timed in
// alternating rounds in the same run. keepalive reuses connections (the
// usual case: the checks run once per new connection); newconn makes the
// server close every connection, so each call dials (and, for a name,
// resolves) again.
func BenchmarkPluginHTTP(b *testing.B) {
	var closeConn bool
	port := listenOn(b, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if closeConn {
			w.Header().Set("Connection", "close")
		}
		w.Write([]byte("ok"))
	}))
	h := newHost(b, HostOptions{})
	for _, c := range []struct {
		name, host string
		close      bool
	}{
		{"keepalive/literal", "127.0.0.1", false},
		{"newconn/literal", "127.0.0.1", true},
		{"newconn/name", "localhost", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			closeConn = c.close
			load2 := func(name string, guarded bool) *Plugin {
				cfg := kitchenConfig(name)
				cfg.PoolSize = 1
				cfg.AllowedHosts = []string{c.host + ":" + port, "127.0.0.1:" + port}
				p := load(b, h, cfg)
				if !guarded {
					p.http.DialTimeout = fasthttp.DialTimeout
				}
				return p
			}
			guarded, plain := load2("bench-guarded", true), load2("bench-plain", false)
			in := request("httpcred:http://"+c.host+":"+port+"/", "alice.nguyen@example.com")
			ctx := context.Background()
			one := func(p *Plugin) {
				res, err := p.Call(ctx, "pre_approval", in)
				if err != nil || !res.Decision.Success {
					b.Fatalf("%v %+v", err, res)
				}
			}
			one(guarded)
			one(plain)
			round := func(p *Plugin, n int) time.Duration {
				start := time.Now()
				for range n {
					one(p)
				}
				return time.Since(start)
			}
			var tg, tp time.Duration
			n := 0
			b.ResetTimer()
			for b.Loop() {
				// One op = one guarded and one plain call; the figures
				// below separate them.
				tg += round(guarded, 1)
				tp += round(plain, 1)
				n++
			}
			b.ReportMetric(float64(tg.Nanoseconds())/float64(n), "guarded-ns/call")
			b.ReportMetric(float64(tp.Nanoseconds())/float64(n), "plain-ns/call")
			b.ReportMetric(float64(tg)/float64(tp), "x-plain")
		})
	}
}
