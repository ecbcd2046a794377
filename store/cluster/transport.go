package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// handshakeTimeout bounds the TLS handshake and first byte of an accepted
// connection, so a client that connects and says nothing is dropped.
const handshakeTimeout = 5 * time.Second

// Mux is the node's one mutual-TLS listener (cluster.raft_addr). Every
// accepted connection must complete a TLS 1.3 handshake with a client
// certificate the cluster CA signed before a single byte of it is read;
// then its first byte says where it goes: Raft's RPC type bytes (< 0x20)
// to the Raft transport, anything else (an HTTP request line) to the
// internal HTTP endpoint that takes forwarded writes and status queries.
type Mux struct {
	ln        net.Listener
	advertise string
	conf      *tls.Config
	log       *slog.Logger

	raftCh chan net.Conn
	httpCh chan net.Conn
	done   chan struct{}
	once   sync.Once

	refused sync.Mutex
	nRefuse int
}

// Listen opens the mTLS listener on addr. advertise is the address peers
// dial (as listed in cluster.peers); it is what Raft calls this node.
func Listen(addr, advertise string, conf *tls.Config, logger *slog.Logger) (*Mux, error) {
	if logger == nil {
		logger = slog.Default()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if advertise == "" {
		advertise = ln.Addr().String()
	}
	m := &Mux{
		ln: ln, advertise: advertise, conf: conf, log: logger,
		raftCh: make(chan net.Conn), httpCh: make(chan net.Conn), done: make(chan struct{}),
	}
	go m.accept()
	return m, nil
}

func (m *Mux) accept() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go m.route(c)
	}
}

// route authenticates one connection and hands it on by its first byte.
func (m *Mux) route(c net.Conn) {
	tc := tls.Server(c, m.conf)
	_ = tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.HandshakeContext(context.Background()); err != nil {
		m.refuse(c, err)
		return
	}
	br := bufio.NewReader(tc)
	first, err := br.Peek(1)
	if err != nil {
		_ = tc.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	conn := &peekedConn{Conn: tc, r: br}
	ch := m.httpCh
	if first[0] < 0x20 {
		ch = m.raftCh
	}
	select {
	case ch <- conn:
	case <-m.done:
		_ = tc.Close()
	}
}

// refuse logs (rate-limited) and drops a connection that failed mTLS.
func (m *Mux) refuse(c net.Conn, err error) {
	_ = c.Close()
	m.refused.Lock()
	m.nRefuse++
	n := m.nRefuse
	m.refused.Unlock()
	if n <= 10 || n%100 == 0 {
		m.log.Warn("cluster: refused a connection without a valid cluster certificate",
			"remote", c.RemoteAddr().String(), "err", err, "refused_total", n)
	}
}

// Refused is how many connections failed the mutual-TLS handshake.
func (m *Mux) Refused() int {
	m.refused.Lock()
	defer m.refused.Unlock()
	return m.nRefuse
}

// Close stops the listener; connections already handed on stay open.
func (m *Mux) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		err = m.ln.Close()
	})
	return err
}

// dial opens an authenticated connection to a peer.
func (m *Mux) dial(ctx context.Context, addr string) (net.Conn, error) {
	d := tls.Dialer{Config: m.conf}
	return d.DialContext(ctx, "tcp", addr)
}

// Raft is the StreamLayer for raft.NewNetworkTransport.
func (m *Mux) Raft() raft.StreamLayer { return raftLayer{m} }

// HTTP is the listener of the internal HTTP endpoint.
func (m *Mux) HTTP() net.Listener { return httpLayer{m} }

type raftLayer struct{ m *Mux }

func (l raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.raftCh:
		return c, nil
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}
func (l raftLayer) Close() error   { return l.m.Close() }
func (l raftLayer) Addr() net.Addr { return advertiseAddr(l.m.advertise) }
func (l raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return l.m.dial(ctx, string(address))
}

type httpLayer struct{ m *Mux }

func (l httpLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.httpCh:
		return c, nil
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}
func (l httpLayer) Close() error   { return nil } // the mux closes with Raft
func (l httpLayer) Addr() net.Addr { return advertiseAddr(l.m.advertise) }

// advertiseAddr is the configured address as a net.Addr.
type advertiseAddr string

func (a advertiseAddr) Network() string { return "tcp" }
func (a advertiseAddr) String() string  { return string(a) }

// peekedConn is a connection whose first bytes were buffered.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
