package testserver

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	// CloudAWSWebIdentityToken is a ServiceAccount token STS's
	// AssumeRoleWithWebIdentity accepts (besides any JWT for its audience,
	// sts.amazonaws.com, whose signature it does not check); it hands out
	// CloudAWSSTSAccessKey.
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
//   - GCP: the metadata server's default service account token, and
//     the OAuth2 token endpoint's JWT-bearer grant for the service
//     account keys of GoogleServiceAccountKey (cloud_static.go).
//
// It also serves the cloud services a bearer token is for: Google
// Pub/Sub's publish and Azure Event Hubs' send (Messages); Event Hubs
// also takes the Entra JWTs of AzureJWT.
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
	// CAPEM is the PEM certificate of the HTTPS listener, for a client
	// that reaches it by its address (e.g. AWS_CA_BUNDLE).
	CAPEM []byte
	// RegistryPassword is the password every login hands out.
	RegistryPassword string

	mu       sync.Mutex
	calls    []string
	clusters map[string]managedCluster
	messages []CloudMessage
	// key signs what the static credentials trust (cloud_static.go);
	// keyTokens are the access tokens its service account keys got.
	key       *rsa.PrivateKey
	keyTokens []string
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
	c.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
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
// "acr", "metadata", "gcp-key", ...), each with the caller's identity
// after a colon.
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
	if c.serveClusters(w, r) || c.serveServices(w, r) {
		return
	}
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
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRoleWithWebIdentity" || !stsAccepts(r.Form.Get("WebIdentityToken")) {
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

// stsAccepts reports whether STS takes tok as a web identity token:
// CloudAWSWebIdentityToken, or a JWT whose aud claim names STS (a
// kube-apiserver's ServiceAccount token; the fake checks no signature).
func stsAccepts(tok string) bool {
	if tok == CloudAWSWebIdentityToken {
		return true
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Aud []string `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return false
	}
	for _, a := range claims.Aud {
		if a == "sts.amazonaws.com" {
			return true
		}
	}
	return false
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
		if r.Form.Get("client_secret") != CloudAzureClientSecret && r.Form.Get("client_assertion") != CloudAzureAssertion &&
			!jwtHasAudience(r.Form.Get("client_assertion"), "api://AzureADTokenExchange") {
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

// UseForAWS points the AWS SDK of this process at c for the rest of t:
// AWS_ENDPOINT_URL_ECR, _STS and _EKS, and AWS_CA_BUNDLE to
// trust its certificate. Call it after IsolateCloudEnv.
func (c *CloudTokens) UseForAWS(t *testing.T) {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "cloud-ca.pem")
	if err := os.WriteFile(ca, c.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_ECR", c.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", c.URL)
	t.Setenv("AWS_ENDPOINT_URL_EKS", c.URL)
	t.Setenv("AWS_CA_BUNDLE", ca)
}

// IsolateCloudEnv clears the clouds' credential and endpoint settings of
// the environment (and points their config files at an empty directory)
// for the rest of t, so only what the test sets is found.
func IsolateCloudEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("CLOUDSDK_CONFIG", dir)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
		"AWS_CA_BUNDLE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_EKS",
		"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE",
		"AZURE_AUTHORITY_HOST", "AZURE_USERNAME", "GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST", "GCE_METADATA_IP"} {
		t.Setenv(k, "")
	}
}
