package okta

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/golang-jwt/jwt/v5"
)

// RequiredScopes are the OAuth 2.0 scopes hookgate asks for when an API
// services app is configured without an explicit scope list: the same set
// Okta's own provisioning integrations use (sync, System Log catch-up and
// plugin actions).
var RequiredScopes = []string{
	"okta.users.manage",
	"okta.groups.manage",
	"okta.apps.manage",
	"okta.roles.read",
	"okta.logs.read",
	"okta.schemas.read",
}

// ClientConfig configures NewClient. Exactly one of APIToken and OAuth must
// be set.
type ClientConfig struct {
	// OrgURL is the Okta org, e.g. https://example.okta.com. It must be
	// https; plain http is accepted only for 127.0.0.1 (tests).
	OrgURL string
	// APIToken is an SSWS API token (sent as "Authorization: SSWS <token>").
	APIToken string
	// APITokenEnv names the variable the token came from; it is only used
	// to make error messages actionable. Default DefaultAPITokenEnv.
	APITokenEnv string
	// OAuth selects OAuth 2.0 client credentials with a private-key JWT.
	OAuth *OAuthConfig

	// HTTPClient sends the requests. Default: a client with a 30s timeout.
	HTTPClient *http.Client
	// Logger receives retry and rate-limit notes. Default slog.Default().
	Logger *slog.Logger
	// MaxAttempts bounds tries of one request on 429, 5xx and network
	// errors. Default 8.
	MaxAttempts int
	// MaxWait caps one wait for a rate-limit window to reset. Default 2m
	// (Okta's windows are one minute).
	MaxWait time.Duration
	// InitialBackoff is the first retry delay when Okta gives no reset
	// time. Default 500ms; it grows by 1.5x up to 30s.
	InitialBackoff time.Duration
	// Sleep waits d or until ctx is done. Tests replace it to observe waits
	// without spending them. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// OAuthConfig is an Okta "API services" app using client credentials with
// private_key_jwt client authentication.
type OAuthConfig struct {
	// ClientID is the app's client id (iss and sub of the client assertion).
	ClientID string
	// PrivateKey signs the client assertion (RS256).
	PrivateKey *rsa.PrivateKey
	// KeyID is put in the assertion's "kid" header when set (Okta needs it
	// when the app has more than one public key).
	KeyID string
	// Scopes requested for the access token. Default RequiredScopes.
	Scopes []string
}

// Client calls the Okta Management API. It follows Link pagination, waits
// out rate-limit windows, retries 429, 5xx and network errors with backoff
// and caches OAuth access tokens. It is safe for concurrent use.
type Client struct {
	base     string // org URL without trailing slash
	origin   string // scheme://host of base
	hc       *http.Client
	log      *slog.Logger
	apiToken string
	tokenEnv string
	oauth    *OAuthConfig
	maxTries int
	maxWait  time.Duration
	initBO   time.Duration
	sleep    func(context.Context, time.Duration) error

	mu       sync.Mutex
	buckets  map[string]time.Time // rate-limit bucket -> local time its window resets (remaining was 0)
	tokMu    sync.Mutex           // serialises token fetches
	tok      *cachedToken
	tokCount atomic.Int64
}

type cachedToken struct {
	access  string
	refresh time.Time // fetch a new one after this instant
	scope   string
}

// NewClient validates cfg and returns a client. No request is made.
func NewClient(cfg ClientConfig) (*Client, error) {
	if strings.TrimSpace(cfg.OrgURL) == "" {
		return nil, errors.New("okta client: org URL is empty (set okta.org_url or HOOKGATE_OKTA_ORG_URL)")
	}
	base, err := orgBase(cfg.OrgURL)
	if err != nil {
		return nil, fmt.Errorf("okta client: org URL %w", err)
	}
	switch {
	case cfg.APIToken != "" && cfg.OAuth != nil:
		return nil, errors.New("okta client: both an API token and OAuth are configured; use one")
	case cfg.APIToken == "" && cfg.OAuth == nil:
		env := cfg.APITokenEnv
		if env == "" {
			env = DefaultAPITokenEnv
		}
		return nil, fmt.Errorf("okta client: no credentials: set %s to an API token, or configure [okta.oauth] client_id and private_key_file", env)
	case cfg.OAuth != nil:
		if cfg.OAuth.ClientID == "" {
			return nil, errors.New("okta client: oauth client_id is empty")
		}
		if cfg.OAuth.PrivateKey == nil {
			return nil, errors.New("okta client: oauth private key is missing")
		}
	}
	c := &Client{
		base:     base,
		origin:   base,
		hc:       cfg.HTTPClient,
		log:      cfg.Logger,
		apiToken: cfg.APIToken,
		tokenEnv: cfg.APITokenEnv,
		maxTries: cfg.MaxAttempts,
		maxWait:  cfg.MaxWait,
		initBO:   cfg.InitialBackoff,
		sleep:    cfg.Sleep,
		buckets:  map[string]time.Time{},
	}
	if cfg.OAuth != nil {
		o := *cfg.OAuth
		if len(o.Scopes) == 0 {
			o.Scopes = append([]string(nil), RequiredScopes...)
		}
		c.oauth = &o
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.tokenEnv == "" {
		c.tokenEnv = DefaultAPITokenEnv
	}
	if c.maxTries <= 0 {
		c.maxTries = 8
	}
	if c.maxWait <= 0 {
		c.maxWait = 2 * time.Minute
	}
	if c.initBO <= 0 {
		c.initBO = 500 * time.Millisecond
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c, nil
}

// NewClientFromConfig builds a client from the [okta] table (Options, as
// gateway/config loaded and validated it): the API token is read from the
// variable okta.api_token_env names, or, when okta.oauth.client_id is set,
// the private key is read from okta.oauth.private_key_file (PEM, PKCS#1 or
// PKCS#8).
func NewClientFromConfig(o Options) (*Client, error) {
	cfg := ClientConfig{OrgURL: o.OrgURL, APITokenEnv: o.APITokenEnv}
	if o.OAuth.ClientID != "" {
		key, err := o.OAuth.privateKey()
		if err != nil {
			return nil, fmt.Errorf("okta client: okta.oauth.private_key_file: %w", err)
		}
		cfg.OAuth = &OAuthConfig{ClientID: o.OAuth.ClientID, PrivateKey: key, KeyID: o.OAuth.KeyID, Scopes: o.OAuth.Scopes}
	} else {
		env := o.APITokenEnv
		if env == "" {
			env = DefaultAPITokenEnv
		}
		cfg.APIToken = os.Getenv(env)
	}
	return NewClient(cfg)
}

// OrgURL returns the org the client talks to (scheme://host).
func (c *Client) OrgURL() string { return c.base }

// AuthKind returns "ssws" or "oauth".
func (c *Client) AuthKind() string {
	if c.oauth != nil {
		return "oauth"
	}
	return "ssws"
}

// TokenRequests reports how many OAuth token requests the client has made
// (0 with an API token); operators and tests use it to see the cache work.
func (c *Client) TokenRequests() int { return int(c.tokCount.Load()) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// APIError is a non-2xx answer from Okta, carrying Okta's error object
// (errorCode, errorSummary, errorCauses) or, from the token endpoint, the
// OAuth error (error, error_description).
type APIError struct {
	Method     string
	Path       string
	StatusCode int

	ErrorCode    string       `json:"errorCode"`
	ErrorSummary string       `json:"errorSummary"`
	ErrorID      string       `json:"errorId"`
	ErrorCauses  []ErrorCause `json:"errorCauses"`

	OAuthError       string `json:"error"`
	OAuthDescription string `json:"error_description"`

	// Body is the start of a body that was not an Okta error object.
	Body string `json:"-"`
}

// ErrorCause is one entry of an Okta error's errorCauses.
type ErrorCause struct {
	ErrorSummary string `json:"errorSummary"`
}

// Error reads like "okta: GET /api/v1/users: 401 E0000011 Invalid token
// provided".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "okta: %s %s: %s", e.Method, e.Path, e.Short())
	return b.String()
}

// Short is the status and Okta's own words, without the request: "401
// E0000011 Invalid token provided".
func (e *APIError) Short() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.StatusCode))
	switch {
	case e.ErrorCode != "" || e.ErrorSummary != "":
		if e.ErrorCode != "" {
			b.WriteString(" " + e.ErrorCode)
		}
		if e.ErrorSummary != "" {
			b.WriteString(" " + e.ErrorSummary)
		}
		for i, c := range e.ErrorCauses {
			if i == 0 {
				b.WriteString(" (")
			} else {
				b.WriteString("; ")
			}
			b.WriteString(c.ErrorSummary)
			if i == len(e.ErrorCauses)-1 {
				b.WriteString(")")
			}
		}
	case e.OAuthError != "":
		b.WriteString(" " + e.OAuthError)
		if e.OAuthDescription != "" {
			b.WriteString(": " + e.OAuthDescription)
		}
	case e.Body != "":
		b.WriteString(" " + e.Body)
	default:
		b.WriteString(" " + http.StatusText(e.StatusCode))
	}
	return b.String()
}

// IsNotFound reports whether err is Okta's 404 (unknown user, group, app).
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound
}

// IsStatus reports whether err is an APIError with the given HTTP status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == status
}

// apiRequest describes one call for do.
type apiRequest struct {
	method      string
	url         string // absolute
	body        []byte
	contentType string
	noAuth      bool // the token endpoint authenticates with the assertion instead
}

// apiResponse is what do hands back besides the decoded body.
type apiResponse struct {
	header http.Header
	status int
	// readAt is when Okta produced the answer, on Okta's clock (the Date
	// header, truncated to the second, so never later than the truth);
	// the local send time when Date is missing.
	readAt time.Time
}

const maxBodyBytes = 64 << 20

// do sends r, retrying as documented on Client, and decodes a 2xx JSON body
// into out (when out is non-nil and the body is non-empty).
func (c *Client) do(ctx context.Context, r apiRequest, out any) (*apiResponse, error) {
	path := r.url
	if u, err := url.Parse(r.url); err == nil {
		path = u.Path
	}
	bucket := r.method + " " + bucketOf(path)
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = c.initBO
	bo.MaxInterval = 30 * time.Second
	bo.Reset()
	refreshed := false
	for attempt := 1; ; attempt++ {
		if err := c.waitBucket(ctx, bucket); err != nil {
			return nil, fmt.Errorf("okta: %s %s: waiting for rate limit reset: %w", r.method, path, err)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(r.body))
		if err != nil {
			return nil, fmt.Errorf("okta: %s %s: %w", r.method, path, err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "hookgate")
		if r.contentType != "" {
			req.Header.Set("Content-Type", r.contentType)
		}
		var bearer string
		if !r.noAuth {
			if c.oauth == nil {
				req.Header.Set("Authorization", "SSWS "+c.apiToken)
			} else {
				bearer, err = c.accessToken(ctx)
				if err != nil {
					return nil, err
				}
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
		}
		sent := time.Now()
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("okta: %s %s: %w", r.method, path, context.Cause(ctx))
			}
			if attempt >= c.maxTries {
				return nil, fmt.Errorf("okta: %s %s: giving up after %d attempts: %w", r.method, path, attempt, err)
			}
			d := bo.NextBackOff()
			c.log.Warn("okta request failed; retrying", "method", r.method, "path", path, "attempt", attempt, "wait", d, "err", err)
			if err := c.sleep(ctx, d); err != nil {
				return nil, fmt.Errorf("okta: %s %s: %w", r.method, path, err)
			}
			continue
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
		resp.Body.Close()
		meta := &apiResponse{header: resp.Header, status: resp.StatusCode, readAt: sent}
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			meta.readAt = d
		}
		resetIn, hasReset := c.noteRateLimit(bucket, resp.Header)
		if rerr != nil {
			if attempt >= c.maxTries {
				return nil, fmt.Errorf("okta: %s %s: reading body: %w", r.method, path, rerr)
			}
			if err := c.sleep(ctx, bo.NextBackOff()); err != nil {
				return nil, fmt.Errorf("okta: %s %s: %w", r.method, path, err)
			}
			continue
		}
		switch st := resp.StatusCode; {
		case st >= 200 && st < 300:
			if out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, out); err != nil {
					return meta, fmt.Errorf("okta: %s %s: decoding %d answer: %w", r.method, path, st, err)
				}
			}
			return meta, nil
		case st == http.StatusUnauthorized && c.oauth != nil && !r.noAuth && !refreshed:
			// The cached token may have been revoked or expired early:
			// fetch a new one, once.
			refreshed = true
			c.dropToken(bearer)
			attempt--
			continue
		case st == http.StatusTooManyRequests || st >= 500:
			if attempt >= c.maxTries {
				return meta, apiErrorFrom(r.method, path, st, body)
			}
			d := bo.NextBackOff()
			if st == http.StatusTooManyRequests && hasReset {
				// Wait for Okta's reset here, once, instead of again
				// before the next try.
				d = resetIn
				c.mu.Lock()
				delete(c.buckets, bucket)
				c.mu.Unlock()
			}
			c.log.Warn("okta answered with a retryable status; waiting", "method", r.method, "path", path, "status", st, "attempt", attempt, "wait", d)
			if err := c.sleep(ctx, d); err != nil {
				return nil, fmt.Errorf("okta: %s %s: %w", r.method, path, err)
			}
		default:
			return meta, apiErrorFrom(r.method, path, st, body)
		}
	}
}

func apiErrorFrom(method, path string, status int, body []byte) *APIError {
	e := &APIError{}
	if json.Unmarshal(body, e) != nil || (e.ErrorCode == "" && e.ErrorSummary == "" && e.OAuthError == "") {
		e = &APIError{}
		s := strings.TrimSpace(string(body))
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		e.Body = s
	}
	e.Method, e.Path, e.StatusCode = method, path, status
	return e
}

// bucketOf approximates Okta's rate-limit buckets: the first three path
// segments (/api/v1/users, /api/v1/groups, /api/v1/logs, /oauth2/v1/token).
func bucketOf(path string) string {
	n := 0
	for i := 0; i < len(path); i++ {
		if path[i] == '/' {
			n++
			if n == 4 {
				return path[:i]
			}
		}
	}
	return path
}

// noteRateLimit reads X-Rate-Limit-Remaining/Reset. When the window is used
// up it remembers when it resets, so the next request on the bucket waits.
// It returns how long until the reset, when Okta said.
func (c *Client) noteRateLimit(bucket string, h http.Header) (time.Duration, bool) {
	resetS := h.Get("X-Rate-Limit-Reset")
	if resetS == "" {
		return 0, false
	}
	epoch, err := strconv.ParseInt(resetS, 10, 64)
	if err != nil {
		return 0, false
	}
	// Okta's reset is on Okta's clock; measure the distance with Okta's
	// own Date header so local clock skew does not matter.
	now := time.Now()
	serverNow := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		serverNow = d
	}
	wait := time.Unix(epoch, 0).Sub(serverNow) + 100*time.Millisecond
	if wait < 0 {
		wait = 0
	}
	if wait > c.maxWait {
		wait = c.maxWait
	}
	if rem := h.Get("X-Rate-Limit-Remaining"); rem == "0" {
		c.mu.Lock()
		c.buckets[bucket] = now.Add(wait)
		c.mu.Unlock()
	}
	return wait, true
}

// waitBucket sleeps until the bucket's exhausted window resets.
func (c *Client) waitBucket(ctx context.Context, bucket string) error {
	c.mu.Lock()
	until, ok := c.buckets[bucket]
	if ok {
		delete(c.buckets, bucket)
	}
	c.mu.Unlock()
	if !ok {
		return nil
	}
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	c.log.Info("okta rate limit window used up; waiting for reset", "bucket", bucket, "wait", d)
	return c.sleep(ctx, d)
}

// --- OAuth 2.0 client credentials ---

// TokenResponse is the org authorization server's answer to a client
// credentials request.
type TokenResponse struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
}

// accessToken returns a cached token or fetches one.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.tok != nil && time.Now().Before(c.tok.refresh) {
		return c.tok.access, nil
	}
	tr, err := c.requestToken(ctx, c.oauth.Scopes)
	if err != nil {
		return "", err
	}
	life := time.Hour // also for an absent or absurd expires_in (no Duration overflow)
	if tr.ExpiresIn > 0 && tr.ExpiresIn <= 24*3600 {
		life = time.Duration(tr.ExpiresIn) * time.Second
	}
	// Refresh a minute early (or at 90% of a short lifetime) so a token
	// never expires in flight.
	early := time.Minute
	if early > life/10 {
		early = life / 10
	}
	c.tok = &cachedToken{access: tr.AccessToken, refresh: time.Now().Add(life - early), scope: tr.Scope}
	return tr.AccessToken, nil
}

// dropToken forgets the cached token if it is still the one that was
// rejected (a concurrent caller may have refreshed it already).
func (c *Client) dropToken(rejected string) {
	c.tokMu.Lock()
	if c.tok != nil && c.tok.access == rejected {
		c.tok = nil
	}
	c.tokMu.Unlock()
}

// GrantedScopes returns the scopes of the current access token (fetching
// one if needed); nil with an API token, which has no scopes.
func (c *Client) GrantedScopes(ctx context.Context) ([]string, error) {
	if c.oauth == nil {
		return nil, nil
	}
	if _, err := c.accessToken(ctx); err != nil {
		return nil, err
	}
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.tok == nil {
		return nil, nil
	}
	return strings.Fields(c.tok.scope), nil
}

// requestToken performs one client-credentials request for scopes. The
// caller holds tokMu (or does not care about the cache, as Check).
func (c *Client) requestToken(ctx context.Context, scopes []string) (*TokenResponse, error) {
	c.tokCount.Add(1)
	tokenURL := c.base + "/oauth2/v1/token"
	assertion, err := c.clientAssertion(tokenURL)
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {strings.Join(scopes, " ")},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	var tr TokenResponse
	_, err = c.do(ctx, apiRequest{
		method: http.MethodPost, url: tokenURL, body: []byte(form.Encode()),
		contentType: "application/x-www-form-urlencoded", noAuth: true,
	}, &tr)
	if err != nil {
		return nil, fmt.Errorf("okta oauth: token request for client %s: %w", c.oauth.ClientID, err)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("okta oauth: token endpoint answered without an access_token")
	}
	return &tr, nil
}

// clientAssertion signs the private_key_jwt client assertion (RFC 7523):
// iss = sub = client id, aud = the token endpoint, a 5-minute lifetime (Okta
// accepts at most one hour) and a unique jti (Okta rejects a replay).
func (c *Client) clientAssertion(aud string) (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("okta oauth: jti: %w", err)
	}
	now := time.Now()
	claims := jwt.RegisteredClaims{
		Issuer:    c.oauth.ClientID,
		Subject:   c.oauth.ClientID,
		Audience:  jwt.ClaimStrings{aud},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		ID:        hex.EncodeToString(jti[:]),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	if c.oauth.KeyID != "" {
		t.Header["kid"] = c.oauth.KeyID
	}
	s, err := t.SignedString(c.oauth.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("okta oauth: signing client assertion: %w", err)
	}
	return s, nil
}
