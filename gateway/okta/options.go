package okta

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookgate/hookgate/internal/duration"
)

// DefaultAPITokenEnv is the variable the SSWS API token is read from when
// okta.api_token_env is not set.
const DefaultAPITokenEnv = "HOOKGATE_OKTA_API_TOKEN"

// Options is the [okta] table of gateway.toml: the Event Hook endpoint and
// the Management API client. gateway/config decodes it, fills zero fields
// from DefaultOptions (Or) and reports Validate's errors under "okta.".
type Options struct {
	// Path is the event hook path. Default "/events/okta".
	Path string `toml:"path"`
	// AuthHeader is the header Okta sends the shared secret in. Default
	// "Authorization"; "X-API-Key" style custom headers work too.
	AuthHeader string `toml:"auth_header"`
	// SecretEnv names the environment variable holding the expected header
	// value. Default "HOOKGATE_OKTA_SECRET". Required at start-up.
	SecretEnv string `toml:"secret_env"`
	// MaxBodyBytes caps an event hook delivery. Default 4 MiB.
	MaxBodyBytes int `toml:"max_body_bytes"`
	// EventRetention is how long accepted events (and their dedupe markers)
	// are kept. Default 720h (30 days).
	EventRetention duration.Duration `toml:"event_retention"`

	// OrgURL is the Okta org (https://example.okta.com); HOOKGATE_OKTA_ORG_URL
	// overrides it. Empty disables the Management API features.
	OrgURL string `toml:"org_url"`
	// APITokenEnv names the variable holding an SSWS API token. Default
	// DefaultAPITokenEnv.
	APITokenEnv string `toml:"api_token_env"`
	// OAuth configures OAuth 2.0 client credentials with a private-key JWT;
	// used instead of the API token when ClientID is set.
	OAuth OAuthOptions `toml:"oauth"`
	// CatchupInterval is how often the System Log is read for missed events.
	// Default 5m; 0 disables periodic catch-up (start-up catch-up still runs
	// when OrgURL is set). Or leaves it alone (0 is meaningful): a loader
	// starts from DefaultOptions and decodes over it.
	CatchupInterval duration.Duration `toml:"catchup_interval"`

	// Secret is the resolved value of SecretEnv.
	Secret string `toml:"-"`
}

// OAuthOptions is the [okta.oauth] table: an Okta "API services" app using
// client credentials with private_key_jwt client authentication.
type OAuthOptions struct {
	// ClientID is the app's client id; setting it selects OAuth.
	ClientID string `toml:"client_id"`
	// PrivateKeyFile is the RSA private key (PEM, PKCS#1 or PKCS#8) whose
	// public half is registered on the app.
	PrivateKeyFile string `toml:"private_key_file"`
	// KeyID is the "kid" of that key (needed when the app has several).
	KeyID string `toml:"key_id"`
	// Scopes requested for the access token. Default RequiredScopes.
	Scopes []string `toml:"scopes"`
}

// DefaultOptions returns the [okta] defaults, the one place they are
// written.
func DefaultOptions() Options {
	return Options{
		Path:            "/events/okta",
		AuthHeader:      "Authorization",
		SecretEnv:       "HOOKGATE_OKTA_SECRET",
		MaxBodyBytes:    4 << 20,
		EventRetention:  duration.Of(720 * time.Hour),
		APITokenEnv:     DefaultAPITokenEnv,
		CatchupInterval: duration.Of(5 * time.Minute),
	}
}

// Or returns o with every empty or zero field replaced by def's, except
// CatchupInterval (where 0 means "no periodic catch-up") and the OAuth
// table (whose empty fields mean "not used" or RequiredScopes).
func (o Options) Or(def Options) Options {
	if o.Path == "" {
		o.Path = def.Path
	}
	if o.AuthHeader == "" {
		o.AuthHeader = def.AuthHeader
	}
	if o.SecretEnv == "" {
		o.SecretEnv = def.SecretEnv
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = def.MaxBodyBytes
	}
	if o.EventRetention.Duration == 0 {
		o.EventRetention = def.EventRetention
	}
	if o.APITokenEnv == "" {
		o.APITokenEnv = def.APITokenEnv
	}
	return o
}

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks o after defaults, including [okta.oauth]: with a
// client_id the private key file must be readable and hold an RSA key.
// Each error names its key relative to [okta] ("oauth.private_key_file:
// …"); gateway/config prefixes "okta.". Nothing is sent to Okta.
func (o Options) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if !strings.HasPrefix(o.Path, "/") {
		bad("path", "%q must start with /", o.Path)
	}
	for key, v := range map[string]string{"secret_env": o.SecretEnv, "api_token_env": o.APITokenEnv} {
		if !envNamePattern.MatchString(v) {
			bad(key, "%q is not an environment variable name", v)
		}
	}
	if o.MaxBodyBytes < 0 {
		bad("max_body_bytes", "must be positive, got %d", o.MaxBodyBytes)
	}
	if o.EventRetention.Duration < 0 {
		bad("event_retention", "must not be negative")
	}
	if o.CatchupInterval.Duration < 0 {
		bad("catchup_interval", "must not be negative (0s disables periodic catch-up)")
	}
	if o.OrgURL != "" {
		if _, err := orgBase(o.OrgURL); err != nil {
			bad("org_url", "%v", err)
		}
	}
	for _, err := range o.OAuth.validate() {
		errs = append(errs, fmt.Errorf("oauth.%w", err))
	}
	return errors.Join(errs...)
}

func (a OAuthOptions) validate() []error {
	var errs []error
	bad := func(key, format string, v ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, v...)))
	}
	if a.ClientID == "" {
		if a.PrivateKeyFile != "" || a.KeyID != "" || len(a.Scopes) > 0 {
			bad("client_id", "required when [okta.oauth] sets private_key_file, key_id or scopes")
		}
		return errs
	}
	if strings.ContainsAny(a.ClientID, " \t\r\n") {
		bad("client_id", "%q contains white space", a.ClientID)
	}
	if _, err := a.privateKey(); err != nil {
		bad("private_key_file", "%v", err)
	}
	for _, s := range a.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			bad("scopes", "%q is not a scope name (one scope per entry, e.g. \"okta.users.manage\")", s)
		}
	}
	return errs
}

// privateKey reads and parses PrivateKeyFile; the error says which.
func (a OAuthOptions) privateKey() (*rsa.PrivateKey, error) {
	if a.PrivateKeyFile == "" {
		return nil, errors.New("required with okta.oauth.client_id")
	}
	pemBytes, err := os.ReadFile(a.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (want an RSA key in PEM)", a.PrivateKeyFile, err)
	}
	return key, nil
}

// orgBase checks an org URL (https, or http for 127.0.0.1 in tests; just
// scheme://host) and returns it as scheme://host.
func orgBase(raw string) (string, error) {
	base := strings.TrimRight(strings.TrimSpace(raw), "/")
	if base == "" {
		return "", errors.New("is empty")
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q does not parse as an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && u.Hostname() == "127.0.0.1":
	default:
		return "", fmt.Errorf("%q must be https:// (http is allowed only for 127.0.0.1, in tests)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("%q must be just scheme://host, without path or query", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}
