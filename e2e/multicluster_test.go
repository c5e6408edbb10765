package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

const syncObjects = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: %[1]s, namespace: %[2]s}
spec: {interval: 10m, url: %[3]q, ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  interval: 10m
  path: ./
  prune: true
  sourceRef: {kind: GitRepository, name: %[1]s}
%[4]s`

// applySync applies a GitRepository + Kustomization named name in
// namespace for url, with extra Kustomization spec lines.
func applySync(ctx context.Context, t *testing.T, name, namespace, url, extraSpec string) *kustomizev1.Kustomization {
	t.Helper()
	applyManifests(ctx, t, fmt.Sprintf(syncObjects, name, namespace, url, extraSpec))
	return &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

func createNamespace(ctx context.Context, t *testing.T, c client.Client, name string) {
	t.Helper()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

// TestMultiClusterAndTenancy: a Kustomization with spec.kubeConfig
// applies to a second API server and not to the local one; a tenant's
// Kustomization impersonating its ServiceAccount cannot touch another
// namespace, says so, and applies nothing.
func TestMultiClusterAndTenancy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})

	t.Run("remote cluster", func(t *testing.T) {
		remote, err := testenv.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer remote.Stop()
		kubeconfig, err := os.ReadFile(remote.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		createNamespace(ctx, t, env.Client, "fleet-remote")
		if err := env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "fleet-remote", Name: "cluster-b"},
			Data: map[string][]byte{"value": kubeconfig}}); err != nil {
			t.Fatal(err)
		}
		if _, err := git.CommitFiles("remote", "main", map[string]string{
			"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: remote-app}\n",
			"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hello, namespace: remote-app}\ndata: {cluster: b}\n",
		}, "remote app"); err != nil {
			t.Fatal(err)
		}
		ks := applySync(ctx, t, "cluster-b", "fleet-remote", git.URL("remote"), "  kubeConfig: {secretRef: {name: cluster-b}}\n")
		took := eventually(t, 2*time.Minute, "applied to the remote cluster", func() error { return readyStatus(ctx, ks) })
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "remote-app", Name: "hello"}}
		if err := remote.Client.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil || cm.Data["cluster"] != "b" {
			t.Fatalf("not in the remote cluster: %v", err)
		}
		if err := absent(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "remote-app"}}); err != nil {
			t.Fatalf("applied locally too: %v", err)
		}
		t.Logf("kubeConfig Kustomization applied to the second API server in %s", took.Round(time.Millisecond))
	})

	t.Run("tenant confined to its namespace", func(t *testing.T) {
		for _, name := range []string{"team-a", "team-b"} {
			createNamespace(ctx, t, env.Client, name)
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "team-a"}}
		binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "team-a-admin"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "team-a", Name: "team-a"}}}
		for _, obj := range []client.Object{sa, binding} {
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := git.CommitFiles("tenant", "main", map[string]string{
			"own.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: own, namespace: team-a}\n",
			"other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: intruder, namespace: team-b}\n",
		}, "tenant app reaching out"); err != nil {
			t.Fatal(err)
		}
		ks := applySync(ctx, t, "tenant", "team-a", git.URL("tenant"), "  serviceAccountName: team-a\n")
		eventually(t, 2*time.Minute, "tenant refused", func() error {
			if err := get(ctx, ks); err != nil {
				return err
			}
			msg := conditions.GetMessage(ks, meta.ReadyCondition)
			if !conditions.IsFalse(ks, meta.ReadyCondition) || !strings.Contains(msg, "team-b") || !strings.Contains(msg, "forbidden") {
				return fmt.Errorf("Ready %s: %s", conditions.GetReason(ks, meta.ReadyCondition), msg)
			}
			return nil
		})
		t.Logf("tenant: %s", conditions.GetMessage(ks, meta.ReadyCondition))
		for _, obj := range []client.Object{
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "intruder"}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "own"}},
		} {
			if err := absent(ctx, obj); err != nil {
				t.Errorf("a refused apply applied: %v", err)
			}
		}
	})
}
