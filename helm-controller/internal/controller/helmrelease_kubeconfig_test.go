package controller

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/runtime/kubeconfig"
	"gotk.dev/pkg/testenv"

	"gotk.dev/helm-controller/internal/action"
)

// remoteCluster starts a second control plane (with workloads, so
// Deployments roll out there), stopped when the test ends, and creates
// namespace ns in it.
func remoteCluster(t *testing.T, ns string) (*testenv.Environment, *action.Clients) {
	t.Helper()
	env2, err := testenv.Start(context.Background(), testenv.WithWorkloads())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env2.Stop(); err != nil {
			t.Log(err)
		}
	})
	if err := env2.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	clients, err := action.NewClients(env2.Config)
	if err != nil {
		t.Fatal(err)
	}
	return env2, clients
}

// kubeConfigSecret stores the admin kubeconfig of e in Secret ns/name, key
// "value".
func kubeConfigSecret(t *testing.T, e *testenv.Environment, ns, name string) {
	t.Helper()
	data, err := os.ReadFile(e.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{"value": data}}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// historyIn returns the stored versions of hr's release in the cluster of
// clients, oldest first.
func historyIn(t testing.TB, clients *action.Clients, hr *helmv2.HelmRelease) []*helmrelease.Release {
	t.Helper()
	cfg, err := clients.Configuration(hr.GetStorageNamespace(), hr.GetReleaseNamespace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := action.History(cfg, hr.GetReleaseName())
	return h
}

// TestKubeConfigRemoteCluster: a HelmRelease with spec.kubeConfig waits
// for its Secret, then installs into the second cluster (objects, release
// storage, health check and drift correction all there, nothing in the
// controller's cluster), upgrades there and uninstalls there on delete.
func TestKubeConfigRemoteCluster(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	env2, remote := remoteCluster(t, ns)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")

	hr := newRelease(ns, "web", "app", "message: first\n")
	hr.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "remote"}}
	hr.Spec.DriftDetection = &helmv2.DriftDetection{Mode: helmv2.DriftDetectionEnabled}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())

	// No Secret yet: not Ready with the package's reason, and not stalled.
	got := eventuallyCondition(t, hr, meta.ReadyCondition, false, kubeconfig.ReasonNotFound, 30*time.Second)
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring("kubeconfig Secret " + ns + "/remote not found"))
	g.Expect(conditions.Has(got, meta.StalledCondition)).To(BeFalse())

	// The Secret appears: the retry installs into the second cluster.
	kubeConfigSecret(t, env2, ns, "remote")
	got = eventuallyReady(t, hr, 90*time.Second)
	g.Expect(conditions.GetReason(got, helmv2.ReleasedCondition)).To(Equal(helmv2.InstallSucceededReason))
	g.Expect(got.Status.StorageNamespace).To(Equal(ns))

	var deploy appsv1.Deployment
	key := types.NamespacedName{Namespace: ns, Name: "web"}
	g.Expect(env2.Client.Get(ctx, key, &deploy)).To(Succeed())
	g.Expect(deploy.Status.AvailableReplicas).To(Equal(int32(1)), "Helm waited for the rollout in the second cluster")
	g.Expect(historyIn(t, remote, hr)).To(HaveLen(1))
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, key, &appsv1.Deployment{}))).To(BeTrue(), "nothing installed in the controller's cluster")
	g.Expect(releaseHistory(t, hr)).To(BeEmpty(), "no release storage in the controller's cluster")
	var local corev1.SecretList
	g.Expect(env.Client.List(ctx, &local, client.InNamespace(ns), client.MatchingLabels{"owner": "helm"})).To(Succeed())
	g.Expect(local.Items).To(BeEmpty())

	// Drift is detected and corrected in the second cluster, by the
	// clients built for the install: an unchanged Secret builds none.
	builds := reconciler.Remotes.Builds()
	g.Expect(env2.Client.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metaOf(ns, "web-config")})).To(Succeed())
	token := requestReconcile(t, hr)
	g.Eventually(func() error {
		return env2.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-config"}, &corev1.ConfigMap{})
	}, 60*time.Second, 250*time.Millisecond).Should(Succeed())
	g.Expect(historyIn(t, remote, hr)).To(HaveLen(1), "drift is corrected without an upgrade")
	g.Eventually(func(g Gomega) {
		g.Expect(getRelease(g, hr).Status.LastHandledReconcileAt).To(Equal(token))
	}, 30*time.Second).Should(Succeed())
	g.Expect(reconciler.Remotes.Builds()).To(Equal(builds), "an unchanged kubeconfig Secret reuses the clients")

	// A changed Secret (new resourceVersion) builds new clients.
	var secret corev1.Secret
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "remote"}, &secret)).To(Succeed())
	secret.Annotations = map[string]string{"rotated": "yes"}
	g.Expect(env.Client.Update(ctx, &secret)).To(Succeed())
	token = requestReconcile(t, hr)
	g.Eventually(func(g Gomega) {
		g.Expect(getRelease(g, hr).Status.LastHandledReconcileAt).To(Equal(token))
	}, 30*time.Second).Should(Succeed())
	g.Expect(reconciler.Remotes.Builds()).To(Equal(builds + 1))

	// Values change → upgraded in the second cluster.
	g.Expect(env.Client.Get(ctx, key, hr)).To(Succeed())
	hr.Spec.Values = jsonValues("message: second\n")
	g.Expect(env.Client.Update(ctx, hr)).To(Succeed())
	eventuallyCondition(t, hr, helmv2.ReleasedCondition, true, helmv2.UpgradeSucceededReason, 90*time.Second)
	eventuallyReady(t, hr, 30*time.Second)
	g.Expect(historyIn(t, remote, hr)).To(HaveLen(2))
	var cm corev1.ConfigMap
	g.Expect(env2.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-config"}, &cm)).To(Succeed())
	g.Expect(cm.Data["message"]).To(Equal("second"))

	// Delete → uninstalled from the second cluster.
	g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, key, &helmv2.HelmRelease{}))
	}, 60*time.Second).Should(BeTrue())
	g.Expect(historyIn(t, remote, hr)).To(BeEmpty())
	g.Expect(apierrors.IsNotFound(env2.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-config"}, &cm))).To(BeTrue())

	t.Run("serviceAccountName impersonates in the remote cluster", func(t *testing.T) {
		g := NewWithT(t)
		hr := newRelease(ns, "as-sa", "app", "")
		hr.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "remote"}}
		hr.Spec.ServiceAccountName = "deployer"
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		got := eventuallyCondition(t, hr, meta.ReadyCondition, false, helmv2.GetLastReleaseFailedReason, 30*time.Second)
		g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring(`"system:serviceaccount:` + ns + `:deployer"`))

		// Granting the account admin in the remote namespace lets the retry install.
		g.Expect(env2.Client.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metaOf(ns, "deployer-admin"),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "deployer"}},
		})).To(Succeed())
		eventuallyReady(t, hr, 90*time.Second)
		g.Expect(env2.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "as-sa-config"}, &corev1.ConfigMap{})).To(Succeed())
		rls := historyIn(t, remote, hr)
		g.Expect(rls).To(HaveLen(1))
		g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
		g.Eventually(func() []*helmrelease.Release { return historyIn(t, remote, hr) }, 60*time.Second).Should(BeEmpty())
	})

	t.Run("a deleted Secret does not block deletion", func(t *testing.T) {
		g := NewWithT(t)
		hr := newRelease(ns, "gone", "app", "")
		hr.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "absent"}}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		eventuallyCondition(t, hr, meta.ReadyCondition, false, kubeconfig.ReasonNotFound, 30*time.Second)
		g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), &helmv2.HelmRelease{}))
		}, 30*time.Second).Should(BeTrue())
		g.Eventually(func() bool {
			return hasEventMessage(ns, "gone", helmv2.UninstallFailedReason, "release left installed: kubeconfig Secret "+ns+"/absent not found")
		}, 10*time.Second).Should(BeTrue())
	})

	t.Run("exec plugin stalls", func(t *testing.T) {
		g := NewWithT(t)
		bad := []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/true}}}]
`)
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metaOf(ns, "exec"), Data: map[string][]byte{"value": bad}})).To(Succeed())
		hr := newRelease(ns, "exec", "app", "")
		hr.Spec.KubeConfig = &meta.KubeConfigReference{SecretRef: &meta.SecretKeyReference{Name: "exec"}}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		got := eventuallyCondition(t, hr, meta.StalledCondition, true, kubeconfig.ReasonInvalid, 30*time.Second)
		g.Expect(conditions.GetMessage(got, meta.StalledCondition)).To(ContainSubstring("exec plugin"))
		g.Expect(conditions.GetReason(got, meta.ReadyCondition)).To(Equal(kubeconfig.ReasonInvalid))

		// An unreachable release does not block the deletion.
		g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), &helmv2.HelmRelease{}))
		}, 30*time.Second).Should(BeTrue())
	})
}
