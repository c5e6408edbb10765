package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/runtime/kubeconfig"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// TestKubeConfigCloudProviderAWS: a Kustomization whose kubeConfig
// ConfigMap names provider aws and an EKS cluster ARN applies into that
// cluster (a real API server that, like EKS, authenticates presigned STS
// GetCallerIdentity tokens), found through EKS DescribeCluster with the
// controller's AWS credentials. A malformed ARN stalls, an unknown
// cluster and a failed login are retried, each with its own reason.
func TestKubeConfigCloudProviderAWS(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	cloud.UseForAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testserver.CloudAWSAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testserver.CloudAWSSecretKey)
	remote, address := testenv.StartCloudCluster(t, cloud, "prod")
	// Runs before the remote cluster stops (cleanups are last in, first out).
	t.Cleanup(reconciler.remoteCache().Close)

	ns := env.NewNamespace(t)
	g.Expect(remote.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	newGitRepository(t, ns, "repo", publish(t, map[string]string{"app/a.yaml": configMap(ns, "a", "")}))
	kubeConfigMap := func(name string, data map[string]string) *meta.KubeConfigReference {
		g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data})).To(Succeed())
		return &meta.KubeConfigReference{ConfigMapRef: &meta.LocalObjectReference{Name: name}}
	}
	apply := func(name string, ref *meta.KubeConfigReference) *kustomizev1.Kustomization {
		return newKustomization(t, ns, name, "repo", func(ks *kustomizev1.Kustomization) {
			ks.Spec.Path = "app"
			ks.Spec.KubeConfig = ref
		})
	}

	eks := apply("eks", kubeConfigMap("eks", map[string]string{"provider": "aws", "cluster": "arn:aws:eks:eu-west-1:111122223333:cluster/prod"}))
	waitReady(t, eks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 60*time.Second)
	g.Expect(remote.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, &corev1.ConfigMap{})).To(Succeed())
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, &corev1.ConfigMap{})).NotTo(Succeed(), "applied to the controller's own cluster")
	g.Expect(cloud.Calls()).To(ContainElements("eks:prod", "authenticated:arn:aws:iam::111122223333:user/"+testserver.CloudAWSAccessKey))

	for _, tc := range []struct {
		name, reason, msg string
		data, env         map[string]string
		stalled           bool
	}{
		{name: "bad-arn", reason: kubeconfig.ReasonInvalid, msg: "is not an EKS cluster ARN", stalled: true,
			data: map[string]string{"provider": "aws", "cluster": "prod"}},
		{name: "unknown-cluster", reason: kubeconfig.ReasonClusterLookupFailed, msg: "No cluster found for name: gone",
			data: map[string]string{"provider": "aws", "cluster": "arn:aws:eks:eu-west-1:111122223333:cluster/gone"}},
		{name: "no-credentials", reason: kubeconfig.ReasonTokenFailed, msg: "AWS credentials",
			// Address and CA given: no lookup, the login is what fails.
			data: map[string]string{"provider": "aws", "cluster": "arn:aws:eks:eu-west-1:111122223333:cluster/prod", "address": address,
				"ca.crt": string(remote.Config.CAData)},
			env: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			ks := apply(tc.name, kubeConfigMap(tc.name, tc.data))
			cur := waitReady(t, ks, metav1.ConditionFalse, tc.reason, 30*time.Second)
			NewWithT(t).Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(ContainSubstring(tc.msg))
			NewWithT(t).Expect(conditions.IsTrue(cur, meta.StalledCondition)).To(Equal(tc.stalled))
		})
	}
}
