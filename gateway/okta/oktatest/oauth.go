package oktatest

import (
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type oauthErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// token serves POST /oauth2/v1/token for the client credentials grant with
// private_key_jwt client authentication, as the org authorization server
// does: the assertion must be RS256-signed by the configured key, with
// iss = sub = client id, aud = this token endpoint, exp at most one hour
// after iat, and a jti never seen before. Every requested scope must be
// granted to the app, else invalid_scope.
func (s *Server) token(w http.ResponseWriter, r *http.Request, now time.Time) {
	s.tokenReqs++
	fail := func(status int, code, desc string) {
		s.writeJSON(w, status, oauthErr{code, desc})
	}
	if r.Method != http.MethodPost {
		fail(405, "invalid_request", "The token endpoint accepts POST only.")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(400, "invalid_request", "The request body is not a form.")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		fail(400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
		return
	}
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		fail(401, "invalid_client", "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.")
		return
	}
	if s.opts.ClientID == "" || s.opts.PublicKey == nil {
		fail(401, "invalid_client", "No OAuth client is configured.")
		return
	}
	claims := &jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(f.Get("client_assertion"), claims,
		func(*jwt.Token) (any, error) { return s.opts.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(s.URL+"/oauth2/v1/token"),
		jwt.WithIssuer(s.opts.ClientID),
		jwt.WithSubject(s.opts.ClientID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		fail(401, "invalid_client", "The client_assertion token is invalid: "+err.Error())
		return
	}
	if claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > time.Hour {
		fail(401, "invalid_client", "The client_assertion token has an expiration too far in the future.")
		return
	}
	if claims.ID == "" {
		fail(401, "invalid_client", "The client_assertion token must contain a jti claim.")
		return
	}
	if s.jtis[claims.ID] {
		fail(401, "invalid_client", "The client_assertion token has already been used.")
		return
	}
	s.jtis[claims.ID] = true

	granted := map[string]bool{}
	for _, sc := range s.opts.Scopes {
		granted[sc] = true
	}
	requested := strings.Fields(f.Get("scope"))
	if len(requested) == 0 {
		fail(400, "invalid_scope", "The authorization server resource does not have any configured default scopes, 'scope' must be provided.")
		return
	}
	var missing []string
	for _, sc := range requested {
		if !granted[sc] {
			missing = append(missing, sc)
		}
	}
	if len(missing) > 0 {
		fail(400, "invalid_scope", "The following scopes are not allowed: "+strings.Join(missing, " "))
		return
	}
	access := randID("eyJ", 24)
	tok := token{exp: now.Add(s.opts.TokenTTL), scopes: map[string]bool{}}
	for _, sc := range requested {
		tok.scopes[sc] = true
	}
	s.tokens[access] = tok
	w.Header().Set("Cache-Control", "no-cache, no-store")
	s.writeJSON(w, 200, map[string]any{
		"token_type": "Bearer", "expires_in": int(s.opts.TokenTTL / time.Second),
		"access_token": access, "scope": strings.Join(requested, " "),
	})
}
