package controller

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// TestSeedFlow follows the seed guide's repository: as printed it does not
// build, with the patch fixed it cannot apply (no namespace), and the
// corrected repository converges with a rolled-out Deployment.
func TestSeedFlow(t *testing.T) {
	g := NewWithT(t)
	ns := env.NewNamespace(t)
	repo := newGitRepository(t, ns, "my-app", publishDir(t, seedDir(t, "app-repo")))
	ks := newKustomization(t, ns, "my-app", "my-app", func(ks *kustomizev1.Kustomization) {
		ks.Spec.Path = "./overlays/production"
		ks.Spec.Interval = metav1.Duration{Duration: 5 * time.Minute}
		ks.Spec.RetryInterval = &metav1.Duration{Duration: 2 * time.Minute}
		ks.Spec.Timeout = &metav1.Duration{Duration: 3 * time.Minute}
		ks.Spec.HealthChecks = []meta.NamespacedObjectKindReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "my-app", Namespace: "production"}}
	})

	// 1. As printed: the patch with no target is named, with what to do.
	cur := waitReady(t, ks, metav1.ConditionFalse, kustomizev1.BuildFailedReason, 30*time.Second)
	msg := conditions.GetMessage(cur, meta.ReadyCondition)
	g.Expect(msg).To(ContainSubstring(`"overlays/production/hpa.yaml"`))
	g.Expect(msg).To(ContainSubstring("patchesStrategicMerge"))
	g.Expect(msg).To(ContainSubstring("list it under resources"))
	g.Expect(cur.Status.LastAttemptedRevision).NotTo(BeEmpty())
	g.Expect(cur.Status.LastAppliedRevision).To(BeEmpty())
	g.Expect(exists(namespaceGVK, "", "production")).To(BeFalse())

	// 2. Only the patch fixed: the missing namespace is named, nothing applied.
	dir := copyDir(t, seedDir(t, "app-repo"))
	kfile := filepath.Join(dir, "overlays", "production", "kustomization.yaml")
	g.Expect(os.WriteFile(kfile, []byte(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: production
resources:
  - ../../base
  - hpa.yaml
patchesStrategicMerge:
  - deployment-patch.yaml
`), 0o644)).To(Succeed())
	setArtifact(t, repo, publishDir(t, dir))
	cur = waitReady(t, ks, metav1.ConditionFalse, kustomizev1.ReconciliationFailedReason, 30*time.Second)
	msg = conditions.GetMessage(cur, meta.ReadyCondition)
	g.Expect(msg).To(ContainSubstring(`namespace "production" not found`))
	g.Expect(msg).To(ContainSubstring("Deployment/production/my-app"))
	g.Expect(msg).To(ContainSubstring("nothing was applied"))
	g.Expect(cur.Status.Inventory).To(BeNil())

	// 3. The corrected repository converges and the Deployment rolls out.
	art := publishDir(t, seedDir(t, "app-repo-corrected"))
	setArtifact(t, repo, art)
	cur = waitApplied(t, ks, art.Revision, 2*time.Minute)
	g.Expect(conditions.GetMessage(cur, meta.ReadyCondition)).To(Equal("Applied revision: " + art.Revision))
	g.Expect(cur.Status.LastAppliedRevision).To(Equal(art.Revision))
	g.Expect(cur.Status.LastAttemptedRevision).To(Equal(art.Revision))
	g.Expect(conditions.IsTrue(cur, kustomizev1.HealthyCondition)).To(BeTrue())
	var ids []string
	for _, e := range cur.Status.Inventory.Entries {
		ids = append(ids, e.ID+"@"+e.Version)
	}
	g.Expect(ids).To(ConsistOf("_production__Namespace@v1", "production_my-app__Service@v1",
		"production_my-app_apps_Deployment@v1", "production_my-app_autoscaling_HorizontalPodAutoscaler@v2"))
	g.Expect(cur.Status.History).NotTo(BeEmpty())
	g.Expect(cur.Status.History.Latest().Metadata).To(HaveKeyWithValue("revision", art.Revision))

	var dep appsv1.Deployment
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: "production", Name: "my-app"}, &dep)).To(Succeed())
	g.Expect(dep.Status.AvailableReplicas).To(BeEquivalentTo(3))
	g.Expect(dep.Labels).To(HaveKeyWithValue(kustomizev1.NameLabel, "my-app"))
	g.Expect(dep.Labels).To(HaveKeyWithValue(kustomizev1.NamespaceLabel, ns))
	g.Expect(dep.Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/myorg/my-app:v1.2.3"))
	managers := map[string]bool{}
	for _, mf := range dep.ManagedFields {
		managers[mf.Manager] = true
	}
	g.Expect(managers).To(HaveKey(FieldManager))

	// Deleting the Kustomization (prune: true, MirrorPrune) removes what it applied.
	g.Expect(env.Client.Delete(context.Background(), cur)).To(Succeed())
	g.Eventually(func() bool {
		return exists(deploymentGVK, "production", "my-app")
	}, 30*time.Second, 200*time.Millisecond).Should(BeFalse())
}

// copyDir copies a directory tree into a temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
