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
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// TestKustomizationSourceRefKind: a GitRepository, an OCIRepository and a
// Bucket share one name, each publishing a different ConfigMap;
// spec.sourceRef.kind alone picks the source whose artifact is applied.
func TestKustomizationSourceRefKind(t *testing.T) {
	ns := env.NewNamespace(t)
	newGitRepository(t, ns, "app", publish(t, map[string]string{"cm.yaml": configMap(ns, "from-git", "")}))
	oci := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: sourcev1.OCIRepositorySpec{URL: "oci://example.com/org/app", Interval: metav1.Duration{Duration: time.Hour}}}
	bucket := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: sourcev1.BucketSpec{BucketName: "app", Endpoint: "example.com", Interval: metav1.Duration{Duration: time.Hour}}}
	for obj, name := range map[client.Object]string{oci: "from-oci", bucket: "from-bucket"} {
		NewWithT(t).Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
		setSourceArtifact(t, obj, publish(t, map[string]string{"cm.yaml": configMap(ns, name, "")}))
	}
	cases := []struct{ kind, applied string }{
		{sourcev1.GitRepositoryKind, "from-git"},
		{sourcev1.OCIRepositoryKind, "from-oci"},
		{sourcev1.BucketKind, "from-bucket"},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			ks := newKustomization(t, ns, "ks-"+tc.applied, "app", func(ks *kustomizev1.Kustomization) {
				ks.Spec.SourceRef.Kind = tc.kind
				ks.Spec.Prune = false
			})
			waitReady(t, ks, metav1.ConditionTrue, kustomizev1.ReconciliationSucceededReason, 30*time.Second)
			g := NewWithT(t)
			g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: tc.applied}, &corev1.ConfigMap{})).To(Succeed())
		})
	}
	// Each Kustomization applied only its own source's ConfigMap.
	list := &corev1.ConfigMapList{}
	NewWithT(t).Expect(env.Client.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var names []string
	for _, cm := range list.Items {
		if cm.Name != "kube-root-ca.crt" {
			names = append(names, cm.Name)
		}
	}
	NewWithT(t).Expect(names).To(ConsistOf("from-git", "from-oci", "from-bucket"))
}

// setSourceArtifact publishes art on an OCIRepository's or Bucket's
// status, as source-controller would.
func setSourceArtifact(t testing.TB, obj client.Object, art *meta.Artifact) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		switch o := obj.(type) {
		case *sourcev1.OCIRepository:
			o.Status.Artifact = art
			conditions.MarkTrue(o, meta.ReadyCondition, meta.SucceededReason, "stored artifact")
		case *sourcev1.Bucket:
			o.Status.Artifact = art
			conditions.MarkTrue(o, meta.ReadyCondition, meta.SucceededReason, "stored artifact")
		}
		return env.Client.Status().Update(context.Background(), obj)
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
}
