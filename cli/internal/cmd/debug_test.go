package cmd

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// TestDebugKustomization prints the variables the controller would
// substitute (ConfigMap first, inline substitute winning) and the status.
func TestDebugKustomization(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vars"},
		Data: map[string]string{"region": "eu-west-1", "env": "from-configmap"}})).To(Succeed())
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "apps"},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Minute}, Path: "./", Prune: true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"},
			PostBuild: &kustomizev1.PostBuild{Substitute: map[string]string{"env": "prod"},
				SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: "vars"}}}}}
	g.Expect(env.Client.Create(ctx, ks)).To(Succeed())
	ks.Status.LastAppliedRevision = "main@sha1:abc"
	ks.Status.Conditions = []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: "ReconciliationSucceeded",
		Message: "Applied revision: main@sha1:abc", LastTransitionTime: metav1.Now()}}
	g.Expect(env.Client.Status().Update(ctx, ks)).To(Succeed())

	out, err := run(t, "-n", ns, "debug", "kustomization", "apps", "--show-vars")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("env=prod\nregion=eu-west-1\n"))

	out, err = run(t, "-n", ns, "debug", "ks", "apps", "--show-status")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("lastAppliedRevision: main@sha1:abc"))
	g.Expect(out).To(ContainSubstring("reason: ReconciliationSucceeded"))

	_, err = run(t, "-n", ns, "debug", "ks", "apps", "--show-vars", "--show-status")
	g.Expect(err).To(MatchError(ContainSubstring("exactly one of")))
	_, err = run(t, "-n", ns, "debug", "helmrelease", "missing", "--show-status")
	g.Expect(err).To(MatchError(ContainSubstring("not found")))
}

// TestDebugHelmReleaseHistory prints the release snapshots in status.
func TestDebugHelmReleaseHistory(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "podinfo"},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Minute},
			ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: "OCIRepository", Name: "podinfo"}}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	now := metav1.Now()
	hr.Status.History = helmv2.Snapshots{{Name: "podinfo", Namespace: ns, Version: 2, Status: "deployed", ChartName: "podinfo",
		ChartVersion: "6.5.0", Digest: "sha256:1", ConfigDigest: "sha256:2", FirstDeployed: now, LastDeployed: now}}
	g.Expect(env.Client.Status().Update(ctx, hr)).To(Succeed())

	out, err := run(t, "-n", ns, "debug", "hr", "podinfo", "--show-history")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("chartVersion: 6.5.0"))
	g.Expect(out).To(ContainSubstring("status: deployed"))
	g.Expect(out).To(ContainSubstring("version: 2"))
}

// TestDebugHelmReleaseValues: --show-values prints valuesFrom merged in
// order, then the inline values on top, as helm-controller merges them.
func TestDebugHelmReleaseValues(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "base"},
		Data: map[string]string{"values.yaml": "replicaCount: 1\nimage:\n  tag: v1\n  pullPolicy: IfNotPresent\n"}})).To(Succeed())
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "podinfo"},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Minute},
			ChartRef:   &helmv2.CrossNamespaceSourceReference{Kind: "OCIRepository", Name: "podinfo"},
			ValuesFrom: []meta.ValuesReference{{Kind: "ConfigMap", Name: "base"}},
			Values:     &apiextensionsv1.JSON{Raw: []byte(`{"image":{"tag":"v2"}}`)}}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())

	out, err := run(t, "-n", ns, "debug", "hr", "podinfo", "--show-values")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(Equal("image:\n  pullPolicy: IfNotPresent\n  tag: v2\nreplicaCount: 1\n"))

	_, err = run(t, "-n", ns, "debug", "hr", "podinfo", "--show-values", "--show-status")
	g.Expect(err).To(MatchError(ContainSubstring("exactly one of")))
}
