package sops

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Names the Azure test server answers for; the test's HTTP client dials
// the server for every host, so the Key Vault challenge's resource check
// (the vault host must be under the resource's domain) holds.
const (
	azureVaultURL     = "https://vault.example.com"
	azureAuthority    = "https://login.example.com/"
	azureTenant       = "tenant-1"
	azureKeyName      = "sops"
	azureKeyVersion   = "v1"
	azureClientSecret = "client-secret"
)

// azureServer is an Azure Key Vault (the key encrypt and decrypt
// operations, with its authentication challenge) and a Microsoft Entra
// token endpoint, over TLS. It records the client of each vault call.
type azureServer struct {
	// Client reaches and trusts the server under every host name.
	Client *http.Client

	mu   sync.Mutex
	seen []string
}

func startAzureKV(t *testing.T) *azureServer {
	t.Helper()
	s := &azureServer{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	addr := srv.Listener.Addr().String()
	s.Client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		// httptest's certificate names example.com.
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com", MinVersion: tls.VersionTLS12},
	}}
	return s
}

func (s *azureServer) callers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.seen
	s.seen = nil
	return c
}

func (s *azureServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	login := strings.TrimSuffix(azureAuthority, "/")
	switch {
	case strings.HasSuffix(r.URL.Path, "/discovery/instance"):
		reply(map[string]any{"tenant_discovery_endpoint": login + "/" + azureTenant + "/v2.0/.well-known/openid-configuration",
			"metadata": []any{map[string]any{"preferred_network": "login.example.com", "aliases": []string{"login.example.com"}}}})
	case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
		reply(map[string]string{
			"authorization_endpoint": login + "/" + azureTenant + "/oauth2/v2.0/authorize",
			"token_endpoint":         login + "/" + azureTenant + "/oauth2/v2.0/token",
			"issuer":                 login + "/" + azureTenant + "/v2.0",
		})
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		_ = r.ParseForm()
		if r.Form.Get("client_secret") != azureClientSecret && r.Form.Get("client_assertion") != "sa-token" {
			w.WriteHeader(http.StatusUnauthorized)
			reply(map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		reply(map[string]any{"access_token": "az-token." + r.Form.Get("client_id"), "token_type": "Bearer", "expires_in": 3600})
	case strings.HasPrefix(r.URL.Path, "/keys/"+azureKeyName+"/"+azureKeyVersion+"/"):
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer az-token.")
		if !ok {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s%s", resource="https://example.com"`, azureAuthority, azureTenant))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		s.seen = append(s.seen, token)
		s.mu.Unlock()
		var in struct{ Value string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		v, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(in.Value, "="))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		kid := azureVaultURL + "/keys/" + azureKeyName + "/" + azureKeyVersion
		op := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		switch op {
		case "encrypt": // "encrypts" by prefixing; the test is about the client
			reply(map[string]string{"kid": kid, "value": base64.RawURLEncoding.EncodeToString(append([]byte("az:"), v...))})
		case "decrypt":
			pt, ok := strings.CutPrefix(string(v), "az:")
			if !ok {
				w.WriteHeader(http.StatusBadRequest)
				reply(map[string]any{"error": map[string]string{"code": "BadParameter", "message": "invalid ciphertext"}})
				return
			}
			reply(map[string]string{"kid": kid, "value": base64.RawURLEncoding.EncodeToString([]byte(pt))})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
		reply(map[string]any{"error": map[string]string{"code": "NotFound", "message": r.Method + " " + r.Host + r.URL.Path}})
	}
}
