package kubeconfig

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

const (
	eksARN  = "arn:aws:eks:eu-west-1:111122223333:cluster/prod"
	aksID   = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/prod"
	gkeName = "projects/project/locations/europe-west1/clusters/prod"
)

// useCloudCredentials gives this process the controller's credentials
// of each cloud, all accepted by cloud.
func useCloudCredentials(t *testing.T, cloud *testserver.CloudTokens) {
	testserver.IsolateCloudEnv(t)
	cloud.UseForAWS(t)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": testserver.CloudAWSAccessKey, "AWS_SECRET_ACCESS_KEY": testserver.CloudAWSSecretKey,
		"AZURE_TENANT_ID": testserver.CloudAzureTenant, "AZURE_CLIENT_ID": "gotk-client", "AZURE_CLIENT_SECRET": testserver.CloudAzureClientSecret,
		"AZURE_AUTHORITY_HOST": testserver.CloudAzureAuthority, "GCE_METADATA_HOST": cloud.MetadataHost,
	} {
		t.Setenv(k, v)
	}
}

// TestLoadCloudProviders: a configMapRef of provider aws, azure or gcp
// reaches a real API server with the cloud's token (EKS presigned STS
// URL, Entra token for AKS's server app, GCP access token), its address
// and CA looked up through the cloud's cluster API; aws with the gate
// off, since no ServiceAccount is named; gcp also with a ServiceAccount's
// workload identity. Wrong names, addresses and missing
// credentials fail with the reason that says so.
func TestLoadCloudProviders(t *testing.T) {
	ctx := context.Background()
	cloud := testserver.NewCloudTokensForTest(t, "gcp-access-token")
	useCloudCredentials(t, cloud)
	_, address := testenv.StartCloudCluster(t, cloud, "prod", aksID, gkeName, "other")
	ns := env.NewNamespace(t)
	// Azure and GCP reach their fixed hosts through cloud.Client; the AWS
	// SDK is pointed at cloud by its environment (UseForAWS).
	opts := func(provider string) Options {
		if provider == cloudauth.ProviderAWS {
			return Options{}
		}
		return Options{WorkloadIdentity: true, Cloud: cloudauth.Options{HTTPClient: cloud.Client}}
	}
	// A ServiceAccount of this cluster whose GCP workload identity (its
	// real token, exchanged at Google's STS) impersonates a Google
	// service account.
	if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gcp-deployer",
		Annotations: map[string]string{cloudauth.AnnotationGCPServiceAccount: "deployer@project.iam.gserviceaccount.com"}}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name       string
		data       map[string]string
		env        map[string]string
		wantReason string
		wantMsg    string
		wantCalls  []string
		// wantUnauthorized: the config loads but the API server refuses its token.
		wantUnauthorized bool
	}{
		{name: "aws", data: map[string]string{"provider": "aws", "cluster": eksARN},
			wantCalls: []string{"eks:prod", "sts-identity:" + testserver.CloudAWSAccessKey, "authenticated:arn:aws:iam::111122223333:user/" + testserver.CloudAWSAccessKey}},
		{name: "azure", data: map[string]string{"provider": "azure", "cluster": aksID},
			wantCalls: []string{"arm:" + aksID, "entra:gotk-client " + cloudauth.AKSScope, "authenticated:aad:gotk-client"}},
		{name: "gcp", data: map[string]string{"provider": "gcp", "cluster": gkeName},
			wantCalls: []string{"gke:" + gkeName, "metadata:default", "authenticated:gcp:gotk@project.iam.gserviceaccount.com"}},
		{name: "gcp-workload-identity", data: map[string]string{"provider": "gcp", "cluster": gkeName, "serviceAccountName": "gcp-deployer"},
			wantCalls: []string{"gcp-sts:identitynamespace:" + testserver.CloudGCPWorkloadPool + ":https://container.googleapis.com/v1/projects/project/locations/" +
				testserver.CloudGKEClusterLocation + "/clusters/" + testserver.CloudGKEClusterName, "gcp-impersonate:deployer@project.iam.gserviceaccount.com", "gke:" + gkeName}},
		{name: "gcp-address-given", data: map[string]string{"provider": "gcp", "cluster": gkeName, "address": address}},
		// The token is bound to cluster "other": the API server (which is
		// "prod") has STS check it with its own ID, which fails.
		{name: "aws-other-cluster", data: map[string]string{"provider": "aws", "cluster": "arn:aws:eks:eu-west-1:111122223333:cluster/other"},
			wantUnauthorized: true},
		{name: "bad-arn", data: map[string]string{"provider": "aws", "cluster": "arn:aws:eks:eu-west-1:1:cluster/prod"},
			wantReason: ReasonInvalid, wantMsg: "is not an EKS cluster ARN"},
		{name: "no-cluster", data: map[string]string{"provider": "azure"}, wantReason: ReasonInvalid, wantMsg: "cluster is required"},
		{name: "unknown-cluster", data: map[string]string{"provider": "aws", "cluster": "arn:aws:eks:eu-west-1:111122223333:cluster/gone"},
			wantReason: ReasonClusterLookupFailed, wantMsg: "ResourceNotFoundException"},
		{name: "foreign-address", data: map[string]string{"provider": "gcp", "cluster": gkeName, "address": "https://elsewhere.example:443"},
			wantReason: ReasonInvalid, wantMsg: "is not an address of cluster"},
		{name: "aws-no-credentials", data: map[string]string{"provider": "aws", "cluster": eksARN, "address": address, "ca.crt": "unused"},
			env: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, wantReason: ReasonTokenFailed, wantMsg: "AWS credentials"},
		{name: "azure-refused", data: map[string]string{"provider": "azure", "cluster": aksID},
			env: map[string]string{"AZURE_CLIENT_SECRET": "wrong"}, wantReason: ReasonTokenFailed, wantMsg: "invalid_client"},
		{name: "unknown-provider", data: map[string]string{"provider": "oracle", "cluster": "x"}, wantReason: ReasonUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			before := len(cloud.Calls())
			if err := env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tc.name}, Data: tc.data}); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(ctx, env.Client, ns, &meta.KubeConfigReference{ConfigMapRef: &meta.LocalObjectReference{Name: tc.name}}, opts(tc.data["provider"]))
			if tc.wantReason != "" {
				var kerr *Error
				if !errors.As(err, &kerr) || kerr.Reason != tc.wantReason || !strings.Contains(kerr.Message, tc.wantMsg) {
					t.Fatalf("error %v, want reason %s with %q", err, tc.wantReason, tc.wantMsg)
				}
				if strings.Contains(kerr.Message, "\n") {
					t.Errorf("message on more than one line: %s", kerr.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			remote, err := client.New(cfg, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var list corev1.NamespaceList
			err = remote.List(ctx, &list)
			if tc.wantUnauthorized {
				if !apierrors.IsUnauthorized(err) {
					t.Fatalf("listing with a token of another cluster: %v, want Unauthorized", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("the cloud's token does not reach the cluster: %v", err)
			}
			calls := cloud.Calls()[before:]
			for _, want := range tc.wantCalls {
				if !contains(calls, want) {
					t.Errorf("calls %v, want %q", calls, want)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
