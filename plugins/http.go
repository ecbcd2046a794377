package plugins

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// maxRedirects bounds redirects followed for one http_request; each hop
// must stay within allowed_hosts.
const maxRedirects = 5

func newHTTPClient(cfg *Config, allow *allowList) *fasthttp.Client {
	d := &guardedDialer{allow: allow}
	return &fasthttp.Client{
		Name:                     "hookgate-plugin/" + cfg.Name,
		MaxResponseBodySize:      cfg.MaxHTTPResponseBytes,
		ReadTimeout:              cfg.HTTPTimeout.Duration,
		WriteTimeout:             cfg.HTTPTimeout.Duration,
		MaxIdleConnDuration:      30 * time.Second,
		MaxConnsPerHost:          64,
		DisablePathNormalizing:   true,
		NoDefaultUserAgentHeader: false,
		// Every new connection goes through the address checks of
		// netguard.go, to the address that was checked.
		DialTimeout: d.dial,
		RetryIfErr: func(req *fasthttp.Request, _ int, err error) (bool, bool) {
			if errors.Is(err, errAddrDenied) {
				return false, false // asking again gets the same answer
			}
			h := &req.Header
			return false, h.IsGet() || h.IsHead() || h.IsPut() // fasthttp's default: idempotent methods
		},
	}
}

// parseURL accepts absolute http and https URLs only.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("not an absolute http(s) URL")
	}
	return u, nil
}

var redirectCodes = map[int]bool{301: true, 302: true, 303: true, 307: true, 308: true}

// http_request(req_ptr, req_len) -> i32
func hHTTPRequest(p *Plugin, ctx context.Context, in *instance, stack []uint64) {
	const op = "http_request"
	if !in.need(stack, op, capHTTP) {
		return
	}
	cfg := &p.cfg
	if uint32(stack[1]) > uint32(2*cfg.MaxHTTPRequestBytes+64<<10) {
		in.fail(stack, op, codeTooLarge, "request document of %d bytes exceeds the cap (max_http_request_bytes is %d)", uint32(stack[1]), cfg.MaxHTTPRequestBytes)
		return
	}
	raw, ok := in.read(stack[0], stack[1])
	if !ok {
		badPointer(in, stack, op)
		return
	}
	var wr wireHTTP
	if err := json.Unmarshal(raw, &wr); err != nil {
		in.fail(stack, op, codeInvalid, "request is not the ABI's JSON document: %v", err)
		return
	}
	body := []byte(wr.Body)
	if wr.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(wr.BodyBase64)
		if err != nil {
			in.fail(stack, op, codeInvalid, "body_base64: %v", err)
			return
		}
		body = b
	}
	if len(body) > cfg.MaxHTTPRequestBytes {
		in.fail(stack, op, codeTooLarge, "request body of %d bytes exceeds max_http_request_bytes %d", len(body), cfg.MaxHTTPRequestBytes)
		return
	}
	method := strings.ToUpper(wr.Method)
	if method == "" {
		method = "GET"
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			in.fail(stack, op, codeInvalid, "method %q is not a token", wr.Method)
			return
		}
	}
	deadline := time.Now().Add(cfg.HTTPTimeout.Duration)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	target := wr.URL
	var first *url.URL
	for hop := 0; ; hop++ {
		u, err := parseURL(target)
		if err != nil {
			in.fail(stack, op, codeInvalid, "url %q must be an absolute http:// or https:// URL", target)
			return
		}
		if first == nil {
			first = u
		}
		if !p.allow.allows(u) {
			what := "host"
			if hop > 0 {
				what = "redirect to host"
			}
			in.fail(stack, op, codeDenied, "%s %q is not in allowed_hosts %q of plugin %q (an entry without a port allows the scheme's default port only; host:* allows any)", what, u.Host, cfg.AllowedHosts, cfg.Name)
			return
		}
		// Credentials go to the origin the plugin named, never to another
		// one a redirect points at (net/http's rule).
		crossOrigin := !sameOrigin(first, u)
		req.Reset()
		resp.Reset()
		req.SetRequestURI(u.String())
		req.Header.SetMethod(method)
		for k, v := range wr.Headers {
			if strings.EqualFold(k, "Host") || strings.EqualFold(k, "Content-Length") {
				continue // the URL decides the host; fasthttp sets the length
			}
			if crossOrigin && isSensitiveHeader(k) {
				continue
			}
			req.Header.Set(k, v)
		}
		if len(body) > 0 {
			req.SetBody(body)
		}
		err = p.http.DoDeadline(req, resp, deadline)
		switch {
		case err == nil:
		case errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) || time.Now().After(deadline):
			in.fail(stack, op, codeTimeout, "%s %s: timed out (http_timeout %s): %v", method, u.Redacted(), cfg.HTTPTimeout.Duration, err)
			return
		case errors.Is(err, errAddrDenied):
			in.fail(stack, op, codeDenied, "%s %s: %v", method, u.Redacted(), err)
			return
		case errors.Is(err, fasthttp.ErrBodyTooLarge):
			in.fail(stack, op, codeTooLarge, "%s %s: response body exceeds max_http_response_bytes %d", method, u.Redacted(), cfg.MaxHTTPResponseBytes)
			return
		default:
			in.fail(stack, op, codeUnavailable, "%s %s: %v", method, u.Redacted(), err)
			return
		}
		status := resp.StatusCode()
		loc := resp.Header.Peek("Location")
		if !redirectCodes[status] || len(loc) == 0 {
			break
		}
		if hop >= maxRedirects {
			in.fail(stack, op, codeUnavailable, "%s %s: more than %d redirects", method, u.Redacted(), maxRedirects)
			return
		}
		next, err := u.Parse(string(loc))
		if err != nil {
			in.fail(stack, op, codeUnavailable, "%s %s: bad redirect Location %q", method, u.Redacted(), loc)
			return
		}
		target = next.String()
		if status == 303 || ((status == 301 || status == 302) && method == "POST") {
			method, body = "GET", nil
		}
	}

	out := wireHTTP{Status: resp.StatusCode(), Headers: map[string]string{}}
	for k, v := range resp.Header.All() {
		key := string(k)
		if prev, ok := out.Headers[key]; ok {
			out.Headers[key] = prev + ", " + string(v)
		} else {
			out.Headers[key] = string(v)
		}
	}
	rb := resp.Body()
	if utf8.Valid(rb) {
		out.Body = string(rb)
	} else {
		out.BodyBase64 = base64.StdEncoding.EncodeToString(rb)
	}
	marshalTo(in, stack, op, out)
}
