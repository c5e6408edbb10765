package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"gotk.dev/notification-controller/internal/celexpr"
)

// GoogleIssuer is the issuer of the OIDC tokens Google Pub/Sub push
// subscriptions send (gcr Receivers).
const GoogleIssuer = "https://accounts.google.com"

// issuerTTL is how long an issuer's discovery document is reused; its keys
// are refetched sooner when a token names an unknown key.
const issuerTTL = time.Hour

// Issuers verifies OIDC tokens, caching each issuer's discovery document
// and signing keys. The zero value trusts Google for gcr and uses
// http.DefaultClient.
type Issuers struct {
	// Client fetches discovery documents and keys; nil is http.DefaultClient.
	Client *http.Client
	// Google overrides GoogleIssuer, e.g. for a private endpoint.
	Google string

	mu        sync.Mutex
	providers map[string]cachedIssuer
}

type cachedIssuer struct {
	provider *oidc.Provider
	at       time.Time
}

func (i *Issuers) google() string {
	if i.Google != "" {
		return i.Google
	}
	return GoogleIssuer
}

func (i *Issuers) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	i.mu.Lock()
	c, ok := i.providers[issuer]
	i.mu.Unlock()
	if ok && time.Since(c.at) < issuerTTL {
		return c.provider, nil
	}
	if i.Client != nil {
		ctx = oidc.ClientContext(ctx, i.Client)
	}
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	if i.providers == nil {
		i.providers = map[string]cachedIssuer{}
	}
	i.providers[issuer] = cachedIssuer{provider: p, at: time.Now()}
	i.mu.Unlock()
	return p, nil
}

// verify checks raw's signature, issuer, audience and expiry and returns
// its claims.
func (i *Issuers) verify(ctx context.Context, issuer, audience, raw string) (map[string]any, error) {
	p, err := i.provider(ctx, issuer)
	if err != nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Msg: "the OIDC issuer's discovery failed"}
	}
	tok, err := p.Verifier(&oidc.Config{ClientID: audience}).Verify(ctx, raw)
	if err != nil {
		return nil, unauthorized("the token is not valid: %s", truncate(err.Error(), 200))
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, unauthorized("the token's claims are not a JSON object")
	}
	return claims, nil
}

// bearer returns the token of an `Authorization: Bearer <token>` header.
func bearer(h http.Header) (string, error) {
	scheme, tok, ok := strings.Cut(h.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", unauthorized("the Authorization header has no bearer token")
	}
	return strings.TrimSpace(tok), nil
}

// unverifiedIssuer reads the `iss` claim before verification, to pick the
// provider that verifies the token.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", unauthorized("the bearer token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", unauthorized("the bearer token is not a JWT")
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer == "" {
		return "", unauthorized("the bearer token has no issuer")
	}
	return c.Issuer, nil
}

// verifyGenericOIDC verifies the bearer JWT with the spec.oidcProviders
// entry of its issuer, then evaluates that entry's variables (in order,
// as `vars`) and validations over `claims`; the first false validation
// refuses the request with its message.
func verifyGenericOIDC(r Request) (Result, error) {
	raw, err := bearer(r.Header)
	if err != nil {
		return Result{}, err
	}
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return Result{}, err
	}
	idx := -1
	for n, p := range r.OIDCProviders {
		if strings.TrimSuffix(p.IssuerURL, "/") == strings.TrimSuffix(iss, "/") {
			idx = n
			break
		}
	}
	if idx < 0 {
		return Result{}, unauthorized("the token's issuer is not one of spec.oidcProviders")
	}
	p := r.OIDCProviders[idx]
	claims, err := r.issuers().verify(r.context(), p.IssuerURL, p.GetAudience(), raw)
	if err != nil {
		return Result{}, err
	}
	vars := map[string]any{}
	for _, v := range p.Variables {
		val, err := celexpr.Eval(v.Expression, map[string]any{"claims": claims, "vars": copyMap(vars)})
		if err != nil {
			return Result{}, unauthorized("oidcProviders[%d].variables %q: %s", idx, v.Name, truncate(err.Error(), 200))
		}
		vars[v.Name] = val.Value()
	}
	for n, v := range p.Validations {
		ok, err := celexpr.Bool(v.Expression, map[string]any{"claims": claims, "vars": vars})
		if err != nil {
			return Result{}, unauthorized("oidcProviders[%d].validations[%d]: %s", idx, n, truncate(err.Error(), 200))
		}
		if !ok {
			return Result{}, unauthorized("%s", v.Message)
		}
	}
	return Result{Act: true, Claims: claims}, nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
