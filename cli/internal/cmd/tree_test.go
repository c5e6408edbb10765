package cmd

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// TestTreeNestsKustomizations reads inventories from real objects.
func TestTreeNestsKustomizations(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	newKs := func(name string, ids ...string) {
		ks := &kustomizev1.Kustomization{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Minute}, Prune: true,
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}},
		}
		g.Expect(env.Client.Create(ctx, ks)).To(Succeed())
		ks.Status.Inventory = &kustomizev1.ResourceInventory{}
		for _, id := range ids {
			ks.Status.Inventory.Entries = append(ks.Status.Inventory.Entries, kustomizev1.ResourceRef{ID: id, Version: "v1"})
		}
		g.Expect(env.Client.Status().Update(ctx, ks)).To(Succeed())
	}
	newKs("apps", "_production__Namespace", "production_my-app_apps_Deployment")
	newKs("root", ns+"_apps_kustomize.toolkit.fluxcd.io_Kustomization", "production_my-svc__Service")

	out, err := run(t, "-n", ns, "tree", "ks", "root")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("Kustomization/" + ns + "/root\n" +
		"├── Kustomization/" + ns + "/apps\n" +
		"│   ├── Namespace/production\n" +
		"│   └── Deployment/production/my-app\n" +
		"└── Service/production/my-svc\n"))

	// --compact: the toolkit's objects only.
	out, err = run(t, "-n", ns, "tree", "ks", "root", "--compact")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("Kustomization/" + ns + "/root\n" +
		"└── Kustomization/" + ns + "/apps\n"))
}
