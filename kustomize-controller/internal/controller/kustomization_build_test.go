package controller

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/kustomize"
)

// TestBuildStepCache: the build step answers a second build of the same
// artifact digest and spec from the cache, with the owner labels set on
// objects of its own, and builds again when the spec or a substituted
// variable changed.
func TestBuildStepCache(t *testing.T) {
	ns := env.NewNamespace(t)
	g := NewWithT(t)
	vars := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vars"}, Data: map[string]string{"v": "one"}}
	g.Expect(env.Client.Create(context.Background(), vars)).To(Succeed())
	files, err := kustomize.NewFiles(map[string][]byte{"app/cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  key: ${v:=none}\n")})
	g.Expect(err).NotTo(HaveOccurred())
	r := newReconciler(env.Client, env.Client, nil)
	spec := func(change func(*kustomizev1.Kustomization)) *kustomizev1.Kustomization {
		ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ks"},
			Spec: kustomizev1.KustomizationSpec{Path: "app", TargetNamespace: ns}}
		if change != nil {
			change(ks)
		}
		return ks
	}
	fromVars := func(ks *kustomizev1.Kustomization) {
		ks.Spec.PostBuild = &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: "vars"}}}
	}
	for _, tc := range []struct {
		name    string
		obj     *kustomizev1.Kustomization
		before  func()
		hits    int
		wantVal string
	}{
		{name: "first build", obj: spec(nil), hits: 0, wantVal: "${v:=none}"},
		{name: "same digest and spec", obj: spec(nil), hits: 1, wantVal: "${v:=none}"},
		{name: "other name prefix", obj: spec(func(ks *kustomizev1.Kustomization) { ks.Spec.NamePrefix = "p-" }), hits: 1, wantVal: "${v:=none}"},
		{name: "variables from a ConfigMap", obj: spec(fromVars), hits: 1, wantVal: "one"},
		{name: "same variables", obj: spec(fromVars), hits: 2, wantVal: "one"},
		{name: "a variable changed", obj: spec(fromVars), hits: 2, wantVal: "two", before: func() {
			vars.Data["v"] = "two"
			g.Expect(env.Client.Update(context.Background(), vars)).To(Succeed())
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			if tc.before != nil {
				tc.before()
			}
			run := &kustomizationRun{r: r, files: files, digest: "sha256:one"}
			g.Expect(run.build(context.Background(), tc.obj)).To(Succeed())
			g.Expect(r.Builds.Hits()).To(Equal(tc.hits))
			g.Expect(run.objects).To(HaveLen(1))
			u := run.objects[0]
			g.Expect(u.GetNamespace()).To(Equal(ns))
			g.Expect(u.GetLabels()).To(HaveKeyWithValue(kustomizev1.NameLabel, "ks"))
			g.Expect(u.Object["data"]).To(HaveKeyWithValue("key", tc.wantVal))
			// Changing what the step returned must not reach the next build.
			u.SetLabels(map[string]string{"changed": "true"})
		})
	}
}
