package gateway_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawGet sends GET path on conn (keep-alive) and returns the status and body.
func rawGet(t *testing.T, conn net.Conn, path, extraHeader string) (int, string) {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // a hang guard
	if _, err := conn.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extraHeader + "\r\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func dialServer(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestServerConnectionCaps: past server.max_conns_per_ip a connection is
// answered 429, past server.max_conns 503, headers over
// server.max_header_bytes 431; the connections within the caps keep
// being served.
func TestServerConnectionCaps(t *testing.T) {
	t.Run("per IP", func(t *testing.T) {
		ts := startServer(t, "[server]\nmax_conns_per_ip = 2\n")
		held := []net.Conn{dialServer(t, ts.URL), dialServer(t, ts.URL)}
		for _, c := range held {
			if code, body := rawGet(t, c, "/healthz", ""); code != 200 {
				t.Fatalf("within the cap: %d %s", code, body)
			}
		}
		if code, body := rawGet(t, dialServer(t, ts.URL), "/healthz", ""); code != 429 {
			t.Fatalf("third connection from one IP: %d %s, want 429", code, body)
		}
		if code, _ := rawGet(t, held[0], "/healthz", ""); code != 200 {
			t.Fatalf("held connection after the refusal: %d", code)
		}
	})
	t.Run("total", func(t *testing.T) {
		ts := startServer(t, "[server]\nmax_conns = 2\nmax_conns_per_ip = 0\n")
		held := []net.Conn{dialServer(t, ts.URL), dialServer(t, ts.URL)}
		for _, c := range held {
			if code, body := rawGet(t, c, "/healthz", ""); code != 200 {
				t.Fatalf("within the cap: %d %s", code, body)
			}
		}
		if code, body := rawGet(t, dialServer(t, ts.URL), "/healthz", ""); code != 503 {
			t.Fatalf("connection past max_conns: %d %s, want 503", code, body)
		}
	})
	t.Run("header size", func(t *testing.T) {
		ts := startServer(t, "[server]\nmax_header_bytes = 2048\n")
		big := "X-Filler: " + strings.Repeat("a", 4096) + "\r\n"
		if code, body := rawGet(t, dialServer(t, ts.URL), "/healthz", big); code != 431 || !strings.Contains(body, "max_header_bytes") {
			t.Fatalf("4 KiB header: %d %s, want 431 naming max_header_bytes", code, body)
		}
		if code, body := rawGet(t, dialServer(t, ts.URL), "/healthz", "X-Small: 1\r\n"); code != 200 {
			t.Fatalf("small header: %d %s", code, body)
		}
	})
}
