package testserver

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
)

// CloudClusterGroup is the group every identity the token webhook of
// CloudTokens authenticates belongs to, for a test's RBAC binding.
const CloudClusterGroup = "gotk:cloud-identities"

// aksServerScope is the Entra scope of AKS's server application.
const aksServerScope = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"

type managedCluster struct {
	address string
	ca      []byte
}

// AddCluster makes a managed cluster known to the clouds' cluster APIs:
// name is an EKS cluster's name, an AKS resource ID or a GKE resource
// name; address (https://host:port) and ca are its API server's, e.g. a
// test control plane started with the token webhook of
// TokenWebhookConfig.
func (c *CloudTokens) AddCluster(name, address string, ca []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clusters == nil {
		c.clusters = map[string]managedCluster{}
	}
	c.clusters[strings.ToLower(name)] = managedCluster{address: address, ca: ca}
}

func (c *CloudTokens) cluster(name string) (managedCluster, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.clusters[strings.ToLower(name)]
	return m, ok
}

// TokenWebhookConfig writes the kubeconfig of a kube-apiserver's webhook
// token authenticator (--authentication-token-webhook-config-file) that
// sends tokens to c, which accepts, as the clouds' clusters do: an EKS
// token (k8s-aws-v1.<presigned STS GetCallerIdentity>) bound to
// eksCluster, checked by calling that URL; an Entra token issued for
// AKS's server application; the metadata server's GCP access token.
func (c *CloudTokens) TokenWebhookConfig(t testing.TB, eksCluster string) string {
	t.Helper()
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: cloud
  cluster:
    server: %s/tokenreview/%s
    certificate-authority-data: %s
users:
- name: apiserver
contexts:
- name: webhook
  context: {cluster: cloud, user: apiserver}
current-context: webhook
`, c.URL, url.PathEscape(eksCluster), base64.StdEncoding.EncodeToString(c.CAPEM))
	path := filepath.Join(t.TempDir(), "token-webhook.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveClusters answers the clusters' APIs; false when r is none of them.
func (c *CloudTokens) serveClusters(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/clusters/") && strings.Contains(r.Header.Get("Authorization"), "Credential="):
		c.eksDescribe(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/" && q.Get("Action") == "GetCallerIdentity":
		c.stsCallerIdentity(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/listClusterUserCredential"):
		c.aksCredential(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/projects/"):
		c.gkeGet(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/tokenreview/"):
		c.tokenReview(w, r)
	default:
		return c.serveGCPIdentity(w, r)
	}
	return true
}

// eksDescribe answers EKS DescribeCluster (REST-JSON) for a known key.
func (c *CloudTokens) eksDescribe(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if key := sigV4Key(r.Header.Get("Authorization")); key != CloudAWSAccessKey && key != CloudAWSSTSAccessKey {
		w.Header().Set("X-Amzn-ErrorType", "UnrecognizedClientException")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "The security token included in the request is invalid."})
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/clusters/")
	m, ok := c.cluster(name)
	if !ok {
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "No cluster found for name: " + name + "."})
		return
	}
	c.record("eks:" + name)
	_ = json.NewEncoder(w).Encode(map[string]any{"cluster": map[string]any{
		"name": name, "status": "ACTIVE", "endpoint": m.address,
		"certificateAuthority": map[string]string{"data": base64.StdEncoding.EncodeToString(m.ca)},
	}})
}

func sigV4Key(auth string) string {
	_, cred, _ := strings.Cut(auth, "Credential=")
	key, _, _ := strings.Cut(cred, "/")
	return key
}

// stsCallerIdentity answers a presigned GetCallerIdentity that signed
// the x-k8s-aws-id header it carries (the signature is checked) and was
// signed less than 15 minutes ago.
func (c *CloudTokens) stsCallerIdentity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key, _, _ := strings.Cut(q.Get("X-Amz-Credential"), "/")
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	switch {
	case key != CloudAWSAccessKey && key != CloudAWSSTSAccessKey,
		!slices.Contains(strings.Split(q.Get("X-Amz-SignedHeaders"), ";"), "x-k8s-aws-id"),
		r.Header.Get("x-k8s-aws-id") == "", err != nil, time.Since(signed) > 15*time.Minute, !presignedValid(r):
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Signature expired or invalid</Message></Error></ErrorResponse>`))
		return
	}
	c.record("sts-identity:" + key)
	type result struct {
		Arn, UserId, Account string
	}
	type response struct {
		XMLName xml.Name `xml:"GetCallerIdentityResponse"`
		Result  result   `xml:"GetCallerIdentityResult"`
	}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(response{Result: result{Arn: "arn:aws:iam::111122223333:user/" + key, UserId: key, Account: "111122223333"}})
}

// aksCredential answers ARM's listClusterUserCredential with a
// kubeconfig of the cluster (its user runs kubelogin, as AKS's does).
func (c *CloudTokens) aksCredential(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer entra.") {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}})
		return
	}
	id := strings.TrimSuffix(r.URL.Path, "/listClusterUserCredential")
	m, ok := c.cluster(id)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "ResourceNotFound", "message": "The Resource '" + id + "' was not found."}})
		return
	}
	c.record("arm:" + id)
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: aks
  cluster: {server: %q, certificate-authority-data: %s}
contexts:
- name: aks
  context: {cluster: aks, user: clusterUser}
current-context: aks
users:
- name: clusterUser
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin, args: [get-token, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]}
`, m.address, base64.StdEncoding.EncodeToString(m.ca))
	_ = json.NewEncoder(w).Encode(map[string]any{"kubeconfigs": []any{map[string]any{"name": "clusterUser", "value": []byte(kubeconfig)}}})
}

// gkeGet answers GKE's projects.locations.clusters.get for the metadata
// server's token.
func (c *CloudTokens) gkeGet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+c.RegistryPassword {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 401, "message": "Request had invalid authentication credentials."}})
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/v1/")
	m, ok := c.cluster(name)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 404, "message": "Not found: " + name + "."}})
		return
	}
	c.record("gke:" + name)
	_ = json.NewEncoder(w).Encode(map[string]any{"name": name, "status": "RUNNING",
		"endpoint":   strings.TrimPrefix(m.address, "https://"),
		"masterAuth": map[string]string{"clusterCaCertificate": base64.StdEncoding.EncodeToString(m.ca)}})
}

// tokenReview is a webhook token authenticator for the clouds' tokens.
func (c *CloudTokens) tokenReview(w http.ResponseWriter, r *http.Request) {
	var review authenticationv1.TokenReview
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&review); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	eksCluster, _ := url.PathUnescape(strings.TrimPrefix(r.URL.Path, "/tokenreview/"))
	user, reason := c.authenticate(r, review.Spec.Token, eksCluster)
	review.Status = authenticationv1.TokenReviewStatus{Authenticated: user != "", Error: reason}
	if user != "" {
		review.Status.User = authenticationv1.UserInfo{Username: user, Groups: []string{CloudClusterGroup}}
		c.record("authenticated:" + user)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}

// authenticate returns the user of tok, or why it is refused.
func (c *CloudTokens) authenticate(r *http.Request, tok, eksCluster string) (user, reason string) {
	switch {
	case strings.HasPrefix(tok, "k8s-aws-v1."):
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "k8s-aws-v1."))
		if err != nil {
			return "", "EKS token is not base64url"
		}
		// As aws-iam-authenticator: call the presigned URL with this
		// cluster's ID; STS says whose it is.
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, string(raw), nil)
		if err != nil || req.URL.Query().Get("Action") != "GetCallerIdentity" {
			return "", "EKS token is not a presigned GetCallerIdentity"
		}
		req.Header.Set("x-k8s-aws-id", eksCluster)
		resp, err := c.Client.Do(req)
		if err != nil {
			return "", "STS: " + err.Error()
		}
		defer resp.Body.Close()
		var out struct {
			Arn string `xml:"GetCallerIdentityResult>Arn"`
		}
		if resp.StatusCode != http.StatusOK || xml.NewDecoder(resp.Body).Decode(&out) != nil {
			return "", "STS refused the token: " + resp.Status
		}
		return out.Arn, ""
	case strings.HasPrefix(tok, "entra."):
		client := strings.TrimPrefix(tok, "entra.")
		if !slices.Contains(c.Calls(), "entra:"+client+" "+aksServerScope) {
			return "", "Entra token was not issued for AKS's server application"
		}
		return "aad:" + client, ""
	case tok == c.RegistryPassword && tok != "":
		return "gcp:gotk@project.iam.gserviceaccount.com", ""
	}
	return "", "unknown token"
}

// jwtHasAudience reports whether tok is a JWT whose aud claim names aud
// (a kube-apiserver's ServiceAccount token; no signature is checked).
func jwtHasAudience(tok, aud string) bool {
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
	return json.Unmarshal(payload, &claims) == nil && slices.Contains(claims.Aud, aud)
}
