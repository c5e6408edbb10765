package testserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// GKE metadata attributes the metadata server of CloudTokens answers:
// the cluster a GKE node runs in, for workload identity's audience.
const (
	CloudGKEClusterName     = "prod"
	CloudGKEClusterLocation = "europe-west1"
	// CloudGCPWorkloadPool is the project's workload identity pool.
	CloudGCPWorkloadPool = "project.svc.id.goog"
)

// serveGCPIdentity answers Google's STS token exchange, the IAM
// credentials API's generateAccessToken and the metadata server's
// cluster attributes; false when r is none of them.
func (c *CloudTokens) serveGCPIdentity(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/token":
		c.gcpSTS(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/projects/-/serviceAccounts/") && strings.HasSuffix(r.URL.Path, ":generateAccessToken"):
		c.gcpImpersonate(w, r)
	case strings.HasPrefix(r.URL.Path, "/computeMetadata/v1/instance/attributes/") && r.Header.Get("Metadata-Flavor") == "Google":
		w.Header().Set("Metadata-Flavor", "Google")
		switch strings.TrimPrefix(r.URL.Path, "/computeMetadata/v1/instance/attributes/") {
		case "cluster-name":
			_, _ = fmt.Fprint(w, CloudGKEClusterName)
		case "cluster-location":
			_, _ = fmt.Fprint(w, CloudGKEClusterLocation)
		default:
			http.NotFound(w, r)
		}
	default:
		return false
	}
	return true
}

// gcpSTS exchanges a ServiceAccount JWT whose audience is the workload
// pool (GKE) or an https: federation provider for a federated token
// ("federated." + the audience it was issued for).
func (c *CloudTokens) gcpSTS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = r.ParseForm()
	audience, subject := r.Form.Get("audience"), r.Form.Get("subject_token")
	want := CloudGCPWorkloadPool
	if !strings.HasPrefix(audience, "identitynamespace:") {
		want = "https:" + audience
	}
	if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" || !jwtHasAudience(subject, want) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "The audience in the subject token does not match"})
		return
	}
	c.record("gcp-sts:" + audience)
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "federated." + audience, "token_type": "Bearer",
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "expires_in": 3600})
}

// gcpImpersonate answers generateAccessToken for a federated token with
// RegistryPassword, the Google service account's access token.
func (c *CloudTokens) gcpImpersonate(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer federated.") {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 401, "message": "Request had invalid authentication credentials."}})
		return
	}
	email := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/projects/-/serviceAccounts/"), ":generateAccessToken")
	c.record("gcp-impersonate:" + email)
	_ = json.NewEncoder(w).Encode(map[string]string{"accessToken": c.RegistryPassword, "expireTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
}
