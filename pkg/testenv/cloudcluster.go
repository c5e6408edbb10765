package testenv

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/localcluster"
	"gotk.dev/pkg/testserver"
)

// StartCloudCluster starts a control plane (without CRDs) that stands for
// a cloud's managed cluster: it authenticates the clouds' tokens through
// cloud's token webhook (EKS tokens bound to eksName), lets every identity
// cloud vouches for administer it, and is registered with cloud's cluster
// APIs under eksName and each of names (AKS resource IDs, GKE names). It
// stops at the end of t; the address is its https URL.
func StartCloudCluster(t testing.TB, cloud *testserver.CloudTokens, eksName string, names ...string) (remote *Environment, address string) {
	t.Helper()
	ctx := context.Background()
	remote, err := Start(ctx, localcluster.WithoutCRDs(), WithTokenWebhook(cloud.TokenWebhookConfig(t, eksName)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = remote.Stop() })
	if err := remote.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "cloud-admins"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: testserver.CloudClusterGroup}}}); err != nil {
		t.Fatal(err)
	}
	address = remote.Config.Host
	if !strings.HasPrefix(address, "https://") {
		address = "https://" + address
	}
	for _, n := range append([]string{eksName}, names...) {
		cloud.AddCluster(n, address, remote.Config.CAData)
	}
	return remote, address
}
