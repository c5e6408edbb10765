package takeover

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"helm.sh/helm/v4/pkg/action"
	helmcommon "helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

// fluxVersion is the Flux release whose cluster state is built.
const fluxVersion = "v2.9.0"

// fluxControllers are Flux's Deployments with their images.
var fluxControllers = map[string]string{
	"source-controller":       "ghcr.io/fluxcd/source-controller:v1.9.0",
	"kustomize-controller":    "ghcr.io/fluxcd/kustomize-controller:v1.9.0",
	"helm-controller":         "ghcr.io/fluxcd/helm-controller:v1.6.0",
	"notification-controller": "ghcr.io/fluxcd/notification-controller:v1.9.0",
}

// fluxCluster is what the test built as Flux left it.
type fluxCluster struct {
	commit string
	// applied are the objects Flux applied: "configmaps/<name>" in appsNS.
	applied map[string]bool
	ks, hr  int
}

// fluxDeployments creates Flux's controllers (kwok runs their pods).
func fluxDeployments(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	for name, image := range fluxControllers {
		labels := map[string]string{"app.kubernetes.io/part-of": "flux", "app.kubernetes.io/instance": ns,
			"app.kubernetes.io/version": fluxVersion, "app.kubernetes.io/component": name, "control-plane": "controller"}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "manager", Image: image, Args: []string{"--watch-all-namespaces=true"}}}},
				},
			},
		}
		if err := c.Create(ctx, d); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// fluxCRDs labels the installed CRDs as Flux's install does and gives the
// Kustomization and HelmRelease CRDs a deprecated version that
// status.storedVersions still lists, as in a cluster upgraded from older
// Flux releases.
func fluxCRDs(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	old := map[string]string{"kustomizations.kustomize.toolkit.fluxcd.io": "v1beta2", "helmreleases.helm.toolkit.fluxcd.io": "v2beta2"}
	var list apiextensionsv1.CustomResourceDefinitionList
	if err := c.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		crd := &list.Items[i]
		l := crd.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l["app.kubernetes.io/part-of"], l["app.kubernetes.io/instance"], l["app.kubernetes.io/version"] = "flux", ns, fluxVersion
		crd.SetLabels(l)
		if v, ok := old[crd.Name]; ok {
			dep := *crd.Spec.Versions[0].DeepCopy()
			dep.Name, dep.Storage, dep.Deprecated = v, false, true
			crd.Spec.Versions = append(crd.Spec.Versions, dep)
		}
		if err := c.Update(ctx, crd); err != nil {
			t.Fatal(err)
		}
		if v, ok := old[crd.Name]; ok {
			crd.Status.StoredVersions = []string{v, crd.Spec.Versions[0].Name}
			if err := c.Status().Update(ctx, crd); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func cmYAML(i int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n  namespace: %s\ndata:\n  index: \"%d\"\n", i, appsNS, i)
}

var chartFiles = map[string]string{
	"values.yaml": "message: hello\n",
	"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
  namespace: {{ .Release.Namespace }}
data:
  message: {{ .Values.message | quote }}
`,
}

func ready(gen int64, reason, msg string) []metav1.Condition {
	now := metav1.Now()
	return []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, ObservedGeneration: gen, LastTransitionTime: now, Reason: reason, Message: msg}}
}

// buildFlux makes the cluster Flux 2.9 leaves after reconciling ks
// Kustomizations (one ConfigMap each, from one GitRepository) and hr
// HelmReleases (one ConfigMap each, from one HelmRepository).
func buildFlux(ctx context.Context, t *testing.T, ks, hr int) *fluxCluster {
	t.Helper()
	c := suite.Env.Client
	fc := &fluxCluster{applied: map[string]bool{}, ks: ks, hr: hr}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appsNS}}); err != nil {
		t.Fatal(err)
	}
	fluxCRDs(ctx, t, c)
	fluxDeployments(ctx, t, c)

	// Kustomizations.
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	files := map[string]string{}
	for i := range ks {
		files[fmt.Sprintf("apps/%d/cm.yaml", i)] = cmYAML(i)
	}
	commit, err := git.CommitFiles("apps", "main", files, "apps")
	if err != nil {
		t.Fatal(err)
	}
	fc.commit = commit
	revision := "main@sha1:" + commit
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "apps", Finalizers: []string{"finalizers.fluxcd.io"}},
		Spec: sourcev1.GitRepositorySpec{URL: git.URL("apps"), Interval: metav1.Duration{Duration: 10 * time.Minute}, Reference: &sourcev1.GitRepositoryRef{Branch: "main"}}}
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	for i := range ks {
		name := fmt.Sprintf("ks-%d", i)
		u := &unstructured.Unstructured{}
		if err := yamlInto(cmYAML(i), u); err != nil {
			t.Fatal(err)
		}
		u.SetLabels(map[string]string{kustomizev1.NameLabel: name, kustomizev1.NamespaceLabel: ns})
		if err := c.Patch(ctx, u, client.Apply, client.FieldOwner("kustomize-controller"), client.ForceOwnership); err != nil {
			t.Fatal(err)
		}
		fc.applied["configmaps/"+u.GetName()] = true
		k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: []string{"finalizers.fluxcd.io"}},
			Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: 10 * time.Minute}, Path: fmt.Sprintf("./apps/%d", i), Prune: true,
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "apps"}}}
		if err := c.Create(ctx, k); err != nil {
			t.Fatal(err)
		}
		k.Status.ObservedGeneration = k.Generation
		k.Status.LastAppliedRevision, k.Status.LastAttemptedRevision = revision, revision
		k.Status.Conditions = ready(k.Generation, meta.ReconciliationSucceededReason, "Applied revision: "+revision)
		// Flux's inventory entry: <namespace>_<name>_<group>_<kind>, core group empty.
		k.Status.Inventory = &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{{ID: fmt.Sprintf("%s_cm-%d__ConfigMap", appsNS, i), Version: "v1"}}}
		if err := c.Status().Update(ctx, k); err != nil {
			t.Fatal(err)
		}
	}

	// HelmReleases, installed through the Helm library as helm-controller does.
	charts := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	if err := charts.AddChart("app", "1.0.0", chartFiles); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "charts", Finalizers: []string{"finalizers.fluxcd.io"}},
		Spec: sourcev1.HelmRepositorySpec{URL: charts.URL(), Interval: metav1.Duration{Duration: 10 * time.Minute}}}); err != nil {
		t.Fatal(err)
	}
	cfg := helmConfig(t)
	for i := range hr {
		name := fmt.Sprintf("hr-%d", i)
		values := map[string]any{"message": fmt.Sprintf("m%d", i)}
		raw, _ := json.Marshal(values)
		h := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: []string{"finalizers.fluxcd.io"}},
			Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: 10 * time.Minute}, TargetNamespace: appsNS,
				Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{Chart: "app", Version: "1.0.0",
					SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"}}},
				Values: &apiextensionsv1.JSON{Raw: raw}}}
		if err := c.Create(ctx, h); err != nil {
			t.Fatal(err)
		}
		install := action.NewInstall(cfg)
		install.ReleaseName, install.Namespace = h.GetReleaseName(), appsNS
		install.Labels = map[string]string{helmv2.NameLabel: name, helmv2.NamespaceLabel: ns}
		install.WaitStrategy = kube.HookOnlyStrategy
		res, err := install.RunWithContext(ctx, helmChart(), values)
		if err != nil {
			t.Fatal(err)
		}
		rls := res.(*helmrelease.Release)
		fc.applied["configmaps/"+rls.Name+"-cm"] = true
		relJSON, _ := json.Marshal(rls)
		valuesDigest := sha256.Sum256(raw)
		snap := &helmv2.Snapshot{APIVersion: "helm.toolkit.fluxcd.io/v2", Digest: "sha256:" + hex.EncodeToString(sha256Sum(relJSON)),
			Name: rls.Name, Namespace: rls.Namespace, Version: rls.Version, Status: rls.Info.Status.String(), Action: "install",
			ChartName: "app", ChartVersion: "1.0.0", ConfigDigest: "sha256:" + hex.EncodeToString(valuesDigest[:]),
			FirstDeployed: metav1.NewTime(rls.Info.FirstDeployed), LastDeployed: metav1.NewTime(rls.Info.LastDeployed)}
		h.Status = helmv2.HelmReleaseStatus{ObservedGeneration: h.Generation, LastAttemptedGeneration: h.Generation,
			Conditions:                  ready(h.Generation, helmv2.InstallSucceededReason, "Helm install succeeded for release "+rls.Namespace+"/"+rls.Name+".v1 with chart app@1.0.0"),
			History:                     helmv2.Snapshots{snap},
			LastAttemptedRevision:       "1.0.0",
			LastAttemptedConfigDigest:   snap.ConfigDigest,
			LastAttemptedReleaseAction:  helmv2.ReleaseActionInstall,
			HelmChart:                   ns + "/" + ns + "-" + name,
			StorageNamespace:            ns,
			ObservedPostRenderersDigest: fluxPostRenderersDigest(h.Spec.PostRenderers),
		}
		h.Status.Conditions = append(h.Status.Conditions, metav1.Condition{Type: helmv2.ReleasedCondition, Status: metav1.ConditionTrue,
			ObservedGeneration: h.Generation, LastTransitionTime: metav1.Now(), Reason: helmv2.InstallSucceededReason, Message: "installed"})
		if err := c.Status().Update(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	return fc
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// fluxPostRenderersDigest is the digest Flux's helm-controller records:
// the JSON encoding of spec.postRenderers (with its trailing newline).
func fluxPostRenderersDigest(p []helmv2.PostRenderer) string {
	b, _ := json.Marshal(p)
	return "sha256:" + hex.EncodeToString(sha256Sum(append(b, '\n')))
}

func helmChart() *chart.Chart {
	ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "app", Version: "1.0.0"},
		Values: map[string]any{"message": "hello"}}
	for name, data := range chartFiles {
		if name != "values.yaml" {
			ch.Templates = append(ch.Templates, &helmcommon.File{Name: name, Data: []byte(data)})
		}
	}
	return ch
}

// helmConfig stores releases in ns, as helm-controller does for
// HelmReleases in ns without spec.storageNamespace.
func helmConfig(t *testing.T) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = ptr.To(suite.Env.Kubeconfig)
	flags.Namespace = ptr.To(ns)
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	if err := cfg.Init(flags, ns, "secret"); err != nil {
		t.Fatal(err)
	}
	return cfg
}
