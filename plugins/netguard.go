package plugins

// Where plugin HTTP may connect. allowed_hosts is matched by the URL's
// host and port (allowList); then, at dial time, the host is resolved and
// every address is checked (guardedDialer): loopback, link-local (the
// cloud metadata address 169.254.169.254 among them), private, unspecified
// and other non-public addresses, in IPv4, IPv6 and IPv4-mapped or
// -embedded IPv6 forms, are refused unless an allowed_hosts entry names
// that very address. The connection goes to the address that was checked,
// so a DNS answer that changes between the check and the connect
// (rebinding) cannot redirect it.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// hostRule is one parsed allowed_hosts entry.
type hostRule struct {
	host string // lower-case name, or the IP in canonical form (no brackets)
	// port is "" for the scheme's default port only, "*" for any port, or
	// a decimal port.
	port string
}

// allowList is a plugin's parsed allowed_hosts.
type allowList struct {
	rules []hostRule
	// literal holds the addresses entries name literally (unmapped, no
	// zone): only these may be non-public.
	literal map[netip.Addr]bool
}

// parseAllowList parses allowed_hosts entries: "host" (the scheme's
// default port: 80 for http, 443 for https), "host:port", "host:*" (any
// port), with IPv6 addresses in brackets ("[::1]:8080"; a bare "::1" is
// accepted too).
func parseAllowList(entries []string) (*allowList, error) {
	a := &allowList{literal: map[netip.Addr]bool{}}
	for _, e := range entries {
		host, port := strings.ToLower(strings.TrimSpace(e)), ""
		if h, p, err := net.SplitHostPort(host); err == nil {
			host, port = h, p
		} else if _, perr := netip.ParseAddr(strings.Trim(host, "[]")); perr != nil && strings.Contains(host, ":") {
			return nil, fmt.Errorf("allowed_hosts entry %q: %v (want host, host:port or host:*)", e, err)
		}
		host = strings.Trim(host, "[]")
		if host == "" || strings.ContainsAny(host, "/@?#") {
			return nil, fmt.Errorf("allowed_hosts entry %q: want host, host:port or host:*, not a URL", e)
		}
		if port != "" && port != "*" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("allowed_hosts entry %q: port %q is not 1..65535 or *", e, port)
			}
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			ip = ip.Unmap().WithZone("")
			host = ip.String()
			a.literal[ip] = true
		}
		a.rules = append(a.rules, hostRule{host: host, port: port})
	}
	return a, nil
}

// defaultPort is the port of an http or https URL without one.
func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// urlHostPort is u's host (lower case; an IP in canonical form) and its
// effective port.
func urlHostPort(u *url.URL) (host, port string) {
	host = strings.ToLower(u.Hostname())
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().WithZone("").String()
	}
	port = u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	return host, port
}

// allows reports whether u's host and port match an entry.
func (a *allowList) allows(u *url.URL) bool {
	host, port := urlHostPort(u)
	for _, r := range a.rules {
		if r.host != host {
			continue
		}
		switch r.port {
		case "*":
			return true
		case "":
			if port == defaultPort(u.Scheme) {
				return true
			}
		default:
			if r.port == port {
				return true
			}
		}
	}
	return false
}

// sameOrigin reports whether a and b have the same scheme, host and port:
// credentials (Authorization, Cookie, ...) follow a redirect only then.
func sameOrigin(a, b *url.URL) bool {
	ah, ap := urlHostPort(a)
	bh, bp := urlHostPort(b)
	return a.Scheme == b.Scheme && ah == bh && ap == bp
}

// sensitiveHeaders are dropped on a redirect to another origin, as
// net/http's client does (plus Proxy-Authorization).
var sensitiveHeaders = []string{"Authorization", "Proxy-Authorization", "Www-Authenticate", "Cookie", "Cookie2"}

func isSensitiveHeader(k string) bool {
	for _, s := range sensitiveHeaders {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// reservedPrefixes are non-public ranges netip's predicates do not cover.
var reservedPrefixes = []struct {
	p    netip.Prefix
	what string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared carrier-grade NAT"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// nonPublic says why ip is not a public unicast address ("" when it is).
func nonPublic(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		// Forms that carry an IPv4 address reach that address.
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			if why := nonPublic(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); why != "" {
				return why + " (through NAT64)"
			}
		case sixToFour.Contains(ip):
			if why := nonPublic(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); why != "" {
				return why + " (through 6to4)"
			}
		}
	}
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		if ip == netip.MustParseAddr("169.254.169.254") {
			return "link-local, the cloud metadata service"
		}
		return "link-local"
	case ip.IsPrivate():
		return "private"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, r := range reservedPrefixes {
		if r.p.Contains(ip) {
			return r.what
		}
	}
	return ""
}

// lookupIPAddr resolves host names for plugin HTTP; tests replace it.
var lookupIPAddr = net.DefaultResolver.LookupIPAddr

// errAddrDenied is wrapped by the dial error for a host whose addresses
// are all refused; the guest gets ERR_DENIED.
var errAddrDenied = errors.New("address not allowed")

// guardedDialer connects plugin HTTP to checked addresses only.
type guardedDialer struct {
	allow *allowList
}

// permitted says why ip is refused ("" if it may be dialled).
func (d *guardedDialer) refusal(ip netip.Addr) string {
	if d.allow.literal[ip.Unmap().WithZone("")] {
		return ""
	}
	return nonPublic(ip)
}

// dial is fasthttp's DialTimeout: resolve addr's host (an IP literal is
// its own answer), drop every address refusal names, and connect to the
// first remaining one that answers.
func (d *guardedDialer) dial(addr string, timeout time.Duration) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		res, err := lookupIPAddr(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, r := range res {
			if ip, ok := netip.AddrFromSlice(r.IP); ok {
				ips = append(ips, ip.Unmap().WithZone(r.Zone))
			}
		}
	}
	var refused []string
	var dialErr error
	for _, ip := range ips {
		if why := d.refusal(ip); why != "" {
			refused = append(refused, fmt.Sprintf("%s (%s)", ip, why))
			continue
		}
		var nd net.Dialer
		c, err := nd.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		dialErr = err
	}
	if dialErr != nil {
		return nil, dialErr
	}
	if len(refused) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	what := "resolves to"
	if _, err := netip.ParseAddr(host); err == nil {
		what = "is"
	}
	return nil, fmt.Errorf("%w: %s %s %s; plugin HTTP never connects to loopback, link-local, private or other non-public addresses unless allowed_hosts names the address itself (e.g. %q)",
		errAddrDenied, host, what, strings.Join(refused, ", "), net.JoinHostPort(ips[0].Unmap().WithZone("").String(), port))
}
