package testserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials the cloud token services of CloudTokens accept and hand
// out.
const (
	// CloudAWSAccessKey and CloudAWSSecretKey are the static AWS keys
	// ECR accepts (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
	CloudAWSAccessKey = "AKIAGOTKSTATIC"
	CloudAWSSecretKey = "static-secret"
	// CloudAWSWebIdentityToken is the ServiceAccount token STS's
	// AssumeRoleWithWebIdentity accepts; it hands out CloudAWSSTSAccessKey.
	CloudAWSWebIdentityToken = "aws-web-identity-token"
	CloudAWSSTSAccessKey     = "ASIAGOTKWEBIDENTITY"
	// CloudAzureTenant, CloudAzureClientSecret: Entra's token endpoint
	// accepts this secret, or CloudAzureAssertion as a client assertion.
	CloudAzureTenant       = "tenant-1"
	CloudAzureClientSecret = "client-secret"
	CloudAzureAssertion    = "azure-sa-token"
	// CloudAzureAuthority is the Entra authority host (AZURE_AUTHORITY_HOST)
	// that CloudTokens.Client reaches.
	CloudAzureAuthority = "https://login.example.com/"
)

// CloudTokens speaks the token APIs of the clouds' registry logins, each
// as documented, over TLS (and plain HTTP for the GCP metadata server):
//
//   - AWS: ECR's GetAuthorizationToken (JSON 1.1, SigV4 with
//     CloudAWSAccessKey or the STS key) and STS AssumeRoleWithWebIdentity;
//   - Azure: Entra's instance discovery, OpenID configuration and token
//     endpoint, and ACR's /oauth2/exchange (Entra token → refresh token);
//   - GCP: the metadata server's default service account token.
//
// Each registry login ends with RegistryPassword: the ECR token decodes to
// AWS:<it>, the ACR refresh token and the GCP access token are it.
type CloudTokens struct {
	// URL is the HTTPS base URL, for AWS_ENDPOINT_URL_ECR and _STS.
	URL string
	// MetadataHost is host:port of the plain HTTP listener, for
	// GCE_METADATA_HOST.
	MetadataHost string
	// Client reaches the HTTPS listener under every host name (Entra's
	// authority, ACR registries) and trusts its certificate.
	Client *http.Client
	// RegistryPassword is the password every login hands out.
	RegistryPassword string

	mu    sync.Mutex
	calls []string
}

// NewCloudTokensForTest starts CloudTokens, closed in t.Cleanup.
func NewCloudTokensForTest(t testing.TB, registryPassword string) *CloudTokens {
	t.Helper()
	c := &CloudTokens{RegistryPassword: registryPassword}
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(c.serve))
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(plain.Close)
	c.URL = tlsSrv.URL
	c.MetadataHost = strings.TrimPrefix(plain.URL, "http://")
	pool := x509.NewCertPool()
	pool.AddCert(tlsSrv.Certificate())
	addr := tlsSrv.Listener.Addr().String()
	c.Client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		// httptest's certificate names example.com.
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com", MinVersion: tls.VersionTLS12},
	}}
	return c
}

// Calls returns the API calls answered so far ("ecr", "sts", "entra",
// "acr", "metadata"), each with the caller's identity after a colon.
func (c *CloudTokens) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *CloudTokens) record(call string) {
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
}

func (c *CloudTokens) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Header.Get("X-Amz-Target") == "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken":
		c.ecrToken(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/" && r.Header.Get("X-Amz-Target") == "":
		c.stsAssumeRole(w, r)
	case strings.HasSuffix(r.URL.Path, "/discovery/instance"),
		strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"),
		strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		c.entra(w, r)
	case r.URL.Path == "/oauth2/exchange":
		c.acrExchange(w, r)
	case strings.HasPrefix(r.URL.Path, "/computeMetadata/v1/"):
		c.metadata(w, r)
	default:
		http.Error(w, "not found: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

// ecrToken answers GetAuthorizationToken for a request signed (SigV4)
// with a known access key; the signature itself is not checked.
func (c *CloudTokens) ecrToken(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	key := ""
	if _, cred, ok := strings.Cut(auth, "Credential="); ok {
		key, _, _ = strings.Cut(cred, "/")
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if key != CloudAWSAccessKey && key != CloudAWSSTSAccessKey {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."})
		return
	}
	c.record("ecr:" + key)
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + c.RegistryPassword))
	_ = json.NewEncoder(w).Encode(map[string]any{"authorizationData": []any{map[string]any{
		"authorizationToken": token, "expiresAt": float64(time.Now().Add(12 * time.Hour).Unix()),
		"proxyEndpoint": "https://" + r.Host,
	}}})
}

// stsAssumeRole answers AssumeRoleWithWebIdentity (query protocol) for
// CloudAWSWebIdentityToken.
func (c *CloudTokens) stsAssumeRole(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRoleWithWebIdentity" || r.Form.Get("WebIdentityToken") != CloudAWSWebIdentityToken {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error></ErrorResponse>`))
		return
	}
	c.record("sts:" + r.Form.Get("RoleArn"))
	type creds struct {
		AccessKeyId, SecretAccessKey, SessionToken, Expiration string
	}
	type response struct {
		XMLName xml.Name `xml:"AssumeRoleWithWebIdentityResponse"`
		Result  struct {
			Credentials creds
		} `xml:"AssumeRoleWithWebIdentityResult"`
	}
	var out response
	out.Result.Credentials = creds{AccessKeyId: CloudAWSSTSAccessKey, SecretAccessKey: "web", SessionToken: "session",
		Expiration: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(out)
}

// entra answers Microsoft Entra's discovery and token requests; an
// access token is "entra." + the client ID.
func (c *CloudTokens) entra(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	login := strings.TrimSuffix(CloudAzureAuthority, "/")
	host := strings.TrimPrefix(login, "https://")
	switch {
	case strings.HasSuffix(r.URL.Path, "/discovery/instance"):
		reply(map[string]any{"tenant_discovery_endpoint": login + "/" + CloudAzureTenant + "/v2.0/.well-known/openid-configuration",
			"metadata": []any{map[string]any{"preferred_network": host, "aliases": []string{host}}}})
	case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		reply(map[string]string{
			"authorization_endpoint": login + "/" + CloudAzureTenant + "/oauth2/v2.0/authorize",
			"token_endpoint":         login + "/" + CloudAzureTenant + "/oauth2/v2.0/token",
			"issuer":                 login + "/" + CloudAzureTenant + "/v2.0",
		})
	default:
		_ = r.ParseForm()
		if r.Form.Get("client_secret") != CloudAzureClientSecret && r.Form.Get("client_assertion") != CloudAzureAssertion {
			w.WriteHeader(http.StatusUnauthorized)
			reply(map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		// MSAL adds openid, offline_access and profile to the caller's scope.
		scope, _, _ := strings.Cut(r.Form.Get("scope"), " ")
		c.record("entra:" + r.Form.Get("client_id") + " " + scope)
		reply(map[string]any{"access_token": "entra." + r.Form.Get("client_id"), "token_type": "Bearer", "expires_in": 3600})
	}
}

// acrExchange answers ACR's access_token grant for an Entra token this
// server issued, with RegistryPassword as the refresh token.
func (c *CloudTokens) acrExchange(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = r.ParseForm()
	tok := r.Form.Get("access_token")
	if r.Form.Get("grant_type") != "access_token" || r.Form.Get("service") != r.Host || !strings.HasPrefix(tok, "entra.") {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]string{"code": "UNAUTHORIZED", "message": "invalid access token"}}})
		return
	}
	c.record("acr:" + r.Host + " " + strings.TrimPrefix(tok, "entra."))
	_ = json.NewEncoder(w).Encode(map[string]string{"refresh_token": c.RegistryPassword})
}

// metadata answers the GCE metadata server's default service account
// token (and its email), which needs the Metadata-Flavor header.
func (c *CloudTokens) metadata(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "missing Metadata-Flavor: Google", http.StatusForbidden)
		return
	}
	w.Header().Set("Metadata-Flavor", "Google")
	switch strings.TrimPrefix(r.URL.Path, "/computeMetadata/v1/") {
	case "instance/service-accounts/default/token":
		c.record("metadata:default")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": c.RegistryPassword, "expires_in": 3600, "token_type": "Bearer"})
	case "instance/service-accounts/default/email":
		_, _ = fmt.Fprint(w, "gotk@project.iam.gserviceaccount.com")
	case "project/project-id":
		_, _ = fmt.Fprint(w, "project")
	case "":
		_, _ = fmt.Fprint(w, "ok")
	default:
		http.NotFound(w, r)
	}
}
