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
	"k8s.io/apimachinery/pkg/types"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	"gotk.dev/pkg/runtime/kubeconfig"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// TestKubeConfigCloudProviderAWS: a HelmRelease whose kubeConfig
// ConfigMap names provider aws and an EKS cluster ARN installs into that
// cluster (a real API server authenticating EKS tokens), found through
// EKS DescribeCluster; an unknown cluster is retried with the lookup's
// reason and message.
func TestKubeConfigCloudProviderAWS(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	cloud := testserver.NewCloudTokensForTest(t, "")
	testserver.IsolateCloudEnv(t)
	cloud.UseForAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", testserver.CloudAWSAccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testserver.CloudAWSSecretKey)
	remote, _ := testenv.StartCloudCluster(t, cloud, "prod")

	ns := env.NewNamespace(t)
	g.Expect(remote.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	publishChart(t, ns, "cm", packageChart(t, "cm", "1.0.0", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  key: value\n"}), "1.0.0")
	release := func(name string, data map[string]string) *helmv2.HelmRelease {
		g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metaOf(ns, name), Data: data})).To(Succeed())
		hr := newRelease(ns, name, "cm", "")
		hr.Spec.KubeConfig = &meta.KubeConfigReference{ConfigMapRef: &meta.LocalObjectReference{Name: name}}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		return hr
	}

	eks := release("eks", map[string]string{"provider": "aws", "cluster": "arn:aws:eks:eu-west-1:111122223333:cluster/prod"})
	eventuallyReady(t, eks, 60*time.Second)
	g.Expect(remote.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "eks-config"}, &corev1.ConfigMap{})).To(Succeed())
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "eks-config"}, &corev1.ConfigMap{})).NotTo(Succeed())
	g.Expect(cloud.Calls()).To(ContainElements("eks:prod", "authenticated:arn:aws:iam::111122223333:user/"+testserver.CloudAWSAccessKey))

	gone := release("gone", map[string]string{"provider": "aws", "cluster": "arn:aws:eks:eu-west-1:111122223333:cluster/gone"})
	got := eventuallyCondition(t, gone, meta.ReadyCondition, false, kubeconfig.ReasonClusterLookupFailed, 30*time.Second)
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring("No cluster found for name: gone"))
}
