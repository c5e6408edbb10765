package fleet

import (
	"testing"

	. "github.com/onsi/gomega"
	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestAPIVersionFinding(t *testing.T) {
	obj := func(apiVersion, kind string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		return u
	}
	for _, tc := range []struct {
		name        string
		obj         *unstructured.Unstructured
		kubeVersion string
		class, msg  string
	}{
		{name: "before deprecation", obj: obj("policy/v1beta1", "PodDisruptionBudget"), kubeVersion: "1.20"},
		{name: "deprecated", obj: obj("policy/v1beta1", "PodDisruptionBudget"), kubeVersion: "1.21", class: ClassDeprecatedAPI,
			msg: "policy/v1beta1 PodDisruptionBudget is deprecated in Kubernetes 1.21 and removed in 1.25: use policy/v1 PodDisruptionBudget"},
		{name: "removed, patch release given", obj: obj("policy/v1beta1", "PodDisruptionBudget"), kubeVersion: "v1.25.3", class: ClassRemovedAPI,
			msg: "policy/v1beta1 PodDisruptionBudget was removed in Kubernetes 1.25 (deprecated in 1.21): use policy/v1 PodDisruptionBudget"},
		{name: "removed in a later major", obj: obj("extensions/v1beta1", "Ingress"), kubeVersion: "2.0", class: ClassRemovedAPI,
			msg: "extensions/v1beta1 Ingress was removed in Kubernetes 1.22 (deprecated in 1.14): use networking.k8s.io/v1 Ingress"},
		{name: "GA version", obj: obj("policy/v1", "PodDisruptionBudget"), kubeVersion: "1.40"},
		{name: "custom kind", obj: obj("example.com/v1beta1", "Widget"), kubeVersion: "1.40"},
		{name: "no --kube-version", obj: obj("policy/v1beta1", "PodDisruptionBudget")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			var kv *helmcommon.KubeVersion
			if tc.kubeVersion != "" {
				var err error
				kv, err = helmcommon.ParseKubeVersion(tc.kubeVersion)
				g.Expect(err).NotTo(HaveOccurred())
			}
			class, msg := apiVersionFinding(tc.obj, kv)
			g.Expect(class).To(Equal(tc.class))
			g.Expect(msg).To(Equal(tc.msg))
		})
	}
}

func TestKubeVersionFlag(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"clusters/dev/app.yaml": "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\n" +
			"spec:\n  interval: 5m\n  path: ./app\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
		"app/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
		"app/pdb.yaml":       "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n  namespace: web\nspec:\n  minAvailable: 1\n",
	})
	for _, tc := range []struct {
		name, kubeVersion string
		code              int
		findings          []string
		skipped           int
	}{
		// The API server of the run no longer serves it: not validated.
		{name: "deprecated", kubeVersion: "1.22", code: ExitFindings, findings: []string{ClassDeprecatedAPI}, skipped: 1},
		{name: "removed", kubeVersion: "1.30", code: ExitFindings, findings: []string{ClassRemovedAPI}},
		{name: "bad release", kubeVersion: "one.thirty", code: ExitFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			report, out, code := gotkTest(t, dir, "--output", "json", "--kube-version", tc.kubeVersion)
			g.Expect(code).To(Equal(tc.code), out)
			if tc.code == ExitFailed {
				return
			}
			var classes []string
			for _, f := range report.Clusters[0].Findings {
				g.Expect(f.File).To(Equal("app/pdb.yaml"))
				classes = append(classes, f.Class)
			}
			g.Expect(classes).To(Equal(tc.findings), out)
			g.Expect(report.Clusters[0].Skipped).To(HaveLen(tc.skipped), out)
		})
	}
}
