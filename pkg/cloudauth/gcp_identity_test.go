package cloudauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/testserver"
)

// jwtIdentity is a ServiceAccount whose tokens are JWTs for the audience
// asked, as kube-apiserver's TokenRequest issues them (unsigned here: the
// token services of testserver.CloudTokens check only the audience).
func jwtIdentity(annotations map[string]string) *cloudauth.ServiceAccountIdentity {
	return &cloudauth.ServiceAccountIdentity{Name: "tenant/puller", Annotations: annotations,
		Token: func(_ context.Context, audience string) (string, error) {
			claims, _ := json.Marshal(map[string]any{"aud": []string{audience}, "sub": "system:serviceaccount:tenant:puller"})
			enc := base64.RawURLEncoding.EncodeToString
			return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(claims) + ".sig", nil
		}}
}

// TestGCPWorkloadIdentity logs in to Artifact Registry with a
// ServiceAccount's GCP workload identity: its token is exchanged at
// Google's STS for the GKE cluster's pool (from the metadata server) or
// the federation provider it names, then the Google service account it
// names is impersonated; without one the federated token is used.
func TestGCPWorkloadIdentity(t *testing.T) {
	const gsa, wif = "puller@project.iam.gserviceaccount.com", "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/k8s"
	gkeAudience := "identitynamespace:" + testserver.CloudGCPWorkloadPool + ":https://container.googleapis.com/v1/projects/project/locations/" +
		testserver.CloudGKEClusterLocation + "/clusters/" + testserver.CloudGKEClusterName
	tests := []struct {
		name         string
		annotations  map[string]string
		wantPassword string
		wantCalls    []string
		wantErr      string
	}{
		{name: "GKE pool, impersonating", annotations: map[string]string{cloudauth.AnnotationGCPServiceAccount: gsa},
			wantPassword: registryPassword, wantCalls: []string{"gcp-sts:" + gkeAudience, "gcp-impersonate:" + gsa}},
		{name: "federation provider, impersonating", annotations: map[string]string{cloudauth.AnnotationGCPServiceAccount: gsa, cloudauth.AnnotationGCPWorkloadIdentityProvider: wif},
			wantPassword: registryPassword, wantCalls: []string{"gcp-sts:" + wif, "gcp-impersonate:" + gsa}},
		{name: "federated token", annotations: map[string]string{cloudauth.AnnotationGCPWorkloadIdentityProvider: wif},
			wantPassword: "federated." + wif, wantCalls: []string{"gcp-sts:" + wif}},
		{name: "malformed provider", annotations: map[string]string{cloudauth.AnnotationGCPWorkloadIdentityProvider: "projects/123/pool"},
			wantErr: "is not //iam.googleapis.com/projects/<number>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cloud := testserver.NewCloudTokensForTest(t, registryPassword)
			testserver.IsolateCloudEnv(t)
			t.Setenv("GCE_METADATA_HOST", cloud.MetadataHost)
			auth, err := cloudauth.RegistryAuthenticator(context.Background(), "gcp", "europe-west1-docker.pkg.dev",
				cloudauth.Options{HTTPClient: cloud.Client, Identity: jwtIdentity(tt.annotations)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !cloudauth.IsConfigError(err) {
					t.Fatalf("error %v, want a configuration error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := auth.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if want := (authn.AuthConfig{Username: "oauth2accesstoken", Password: tt.wantPassword}); *cfg != want {
				t.Fatalf("login %s/%s, want %s/%s", cfg.Username, cfg.Password, want.Username, want.Password)
			}
			if got := strings.Join(cloud.Calls(), ","); got != strings.Join(tt.wantCalls, ",") {
				t.Fatalf("calls %s, want %s", got, strings.Join(tt.wantCalls, ","))
			}
		})
	}
}
