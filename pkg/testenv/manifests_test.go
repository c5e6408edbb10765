package testenv_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"gotk.dev/pkg/testenv"
)

// TestInstallManifestsApply builds manifests/ as `kustomize build` does
// (that output is gotk-components.yaml), applies it to the API server, and
// checks the install is complete and its Deployments roll out.
func TestInstallManifestsApply(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	root, err := testenv.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(root, "manifests"))
	g.Expect(err).NotTo(HaveOccurred())

	got := map[string]bool{}
	for _, res := range resMap.Resources() {
		m, err := res.Map()
		g.Expect(err).NotTo(HaveOccurred())
		obj := &unstructured.Unstructured{Object: m}
		got[obj.GetKind()+"/"+obj.GetName()] = true
		g.Expect(env.Client.Patch(ctx, obj, client.Apply, client.FieldOwner("gotk-test"), client.ForceOwnership)).
			To(Succeed(), "applying %s/%s", obj.GetKind(), obj.GetName())
	}

	want := []string{"Namespace/flux-system",
		"Service/source-controller", "Service/notification-controller", "Service/webhook-receiver",
		"ClusterRoleBinding/cluster-reconciler", "NetworkPolicy/allow-egress", "NetworkPolicy/allow-scraping", "NetworkPolicy/allow-webhooks"}
	for _, crd := range []string{"gitrepositories.source", "ocirepositories.source", "helmrepositories.source", "helmcharts.source",
		"buckets.source", "externalartifacts.source", "kustomizations.kustomize", "helmreleases.helm", "imagerepositories.image",
		"imagepolicies.image", "imageupdateautomations.image", "providers.notification", "alerts.notification", "receivers.notification"} {
		want = append(want, "CustomResourceDefinition/"+crd+".toolkit.fluxcd.io")
	}
	controllers := []string{"source-controller", "kustomize-controller", "helm-controller", "image-automation-controller", "notification-controller"}
	for _, c := range controllers {
		want = append(want, "Deployment/"+c, "ServiceAccount/"+c)
	}
	for _, w := range want {
		g.Expect(got).To(HaveKey(w))
	}

	for _, c := range controllers {
		dep := &appsv1.Deployment{}
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: "flux-system", Name: c}, dep)).To(Succeed())
			g.Expect(dep.Status.AvailableReplicas).To(Equal(int32(1)))
		}, 60*time.Second, 250*time.Millisecond).Should(Succeed(), c)
		sc := dep.Spec.Template.Spec.Containers[0].SecurityContext
		g.Expect(*sc.RunAsNonRoot && *sc.ReadOnlyRootFilesystem && !*sc.AllowPrivilegeEscalation).To(BeTrue(), c)
	}
}
