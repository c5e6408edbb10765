package controller

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"gotk.dev/pkg/apis"
	helmv2 "gotk.dev/pkg/apis/helm/v2"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testenv"
)

// TestBadInput: each kind of bad input ends in a precise condition.
func TestBadInput(t *testing.T) {
	startController(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")
	publishChart(t, ns, "broken", packageChart(t, "broken", "0.1.0", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name | required \"name is required\" }}\n",
	}), "0.1.0")

	publishChart(t, ns, "hooks", packageChart(t, "hooks", "0.1.0", map[string]string{
		"values.yaml": "exit: \"1\"\n",
		"templates/hook.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-pre
  annotations:
    helm.sh/hook: pre-install
{{- if .Values.exit }}
    ` + testenv.ExitAnnotation + `: {{ .Values.exit | quote }}
{{- end }}
spec:
  restartPolicy: Never
  containers:
  - name: hook
    image: example.com/hook:1
`,
	}), "0.1.0")
	// An artifact that is a tarball but not a chart.
	publishChart(t, ns, "notchart", tarGz(t, map[string]string{"notchart/README.md": "no chart here\n"}), "0.1.0")
	// A HelmChart source-controller could not build: no artifact, and
	// Ready=False says why.
	g0 := NewWithT(t)
	notFound := &sourcev1.HelmChart{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unbuilt"},
		Spec: sourcev1.HelmChartSpec{Chart: "app", Version: "9.9.9", Interval: metav1.Duration{Duration: time.Hour},
			SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"}},
	}
	g0.Expect(env.Client.Create(ctx, notFound)).To(Succeed())
	conditions.MarkFalse(notFound, meta.ReadyCondition, "ChartPullError", "no chart version found for app-9.9.9")
	g0.Expect(env.Client.Status().Update(ctx, notFound)).To(Succeed())

	cases := []struct {
		name    string
		mutate  func(hr *helmv2.HelmRelease)
		cond    string
		reason  string
		message string
	}{
		{name: "missing-source", mutate: func(hr *helmv2.HelmRelease) { hr.Spec.ChartRef.Name = "nope" },
			cond: meta.ReadyCondition, reason: helmv2.ArtifactFailedReason, message: "chart source HelmChart '" + ns + "/nope' not found"},
		{name: "not-a-chart", mutate: func(hr *helmv2.HelmRelease) { hr.Spec.ChartRef.Name = "notchart" },
			cond: meta.StalledCondition, reason: helmv2.ArtifactFailedReason, message: "invalid chart artifact: Chart.yaml file is missing"},
		{name: "missing-values-ref", mutate: func(hr *helmv2.HelmRelease) {
			hr.Spec.ValuesFrom = []meta.ValuesReference{{Kind: "ConfigMap", Name: "absent"}}
		}, cond: meta.ReadyCondition, reason: ReasonValuesError, message: `values from ConfigMap/absent key "values.yaml": ConfigMap not found`},
		{name: "values-not-yaml", mutate: func(hr *helmv2.HelmRelease) {
			hr.Spec.ValuesFrom = []meta.ValuesReference{{Kind: "Secret", Name: "bad-values"}}
		}, cond: meta.ReadyCondition, reason: ReasonValuesError, message: "not valid YAML"},
		{name: "chart-version-not-found", mutate: func(hr *helmv2.HelmRelease) { hr.Spec.ChartRef.Name = "unbuilt" },
			cond: meta.ReadyCondition, reason: helmv2.ArtifactFailedReason, message: "not ready: no chart version found for app-9.9.9"},
		{name: "hook-failure", mutate: func(hr *helmv2.HelmRelease) { hr.Spec.ChartRef.Name = "hooks" },
			cond: helmv2.ReleasedCondition, reason: helmv2.InstallFailedReason, message: "failed pre-install: pod hook-failure-pre failed"},
		{name: "hook-timeout", mutate: func(hr *helmv2.HelmRelease) {
			hr.Spec.ChartRef.Name = "hooks"
			hr.Spec.Values = jsonValues("exit: \"\"\n")
			hr.Spec.Timeout = &metav1.Duration{Duration: 3 * time.Second}
		}, cond: helmv2.ReleasedCondition, reason: helmv2.InstallFailedReason, message: "timed out waiting for the condition"},
		{name: "template-error", mutate: func(hr *helmv2.HelmRelease) { hr.Spec.ChartRef.Name = "broken" },
			cond: helmv2.ReleasedCondition, reason: helmv2.InstallFailedReason, message: "name is required"},
	}
	g := NewWithT(t)
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bad-values"},
		StringData: map[string]string{"values.yaml": "a: [unclosed\n"}})).To(Succeed())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			hr := newRelease(ns, tc.name, "app", "")
			tc.mutate(hr)
			g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
			status := tc.cond != meta.ReadyCondition && tc.cond != helmv2.ReleasedCondition
			got := eventuallyCondition(t, hr, tc.cond, status, tc.reason, 60*time.Second)
			g.Expect(conditions.GetMessage(got, tc.cond)).To(ContainSubstring(tc.message))
			g.Expect(conditions.IsReady(got)).To(BeFalse())
		})
	}

	t.Run("optional-missing-ref-and-targetPath", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "msg"},
			Data: map[string]string{"text": "from-configmap"}})).To(Succeed())
		hr := newRelease(ns, "vals", "app", "replicas: 1\n")
		hr.Spec.ValuesFrom = []meta.ValuesReference{
			{Kind: "ConfigMap", Name: "absent", Optional: true},
			{Kind: "ConfigMap", Name: "msg", ValuesKey: "text", TargetPath: "message"},
		}
		g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
		eventuallyReady(t, hr, 90*time.Second)
		var cm corev1.ConfigMap
		g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "vals-config"}, &cm)).To(Succeed())
		g.Expect(cm.Data["message"]).To(Equal("from-configmap"))
	})
}

// TestDependsOnAndChartTemplate: a HelmRelease waits for its dependency;
// spec.chart creates the HelmChart '<ns>-<name>' in the release's shard,
// the release installs once it has an artifact, and deleting the
// HelmRelease deletes the HelmChart.
func TestDependsOnAndChartTemplate(t *testing.T) {
	startController(t)
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)

	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tpl", Labels: map[string]string{apis.ShardKeyLabel: "shard1"}},
		Spec: helmv2.HelmReleaseSpec{
			Interval: metav1.Duration{Duration: time.Hour},
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
				Chart: "app", Version: "1.x", SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "repo"},
			}},
			DependsOn: []meta.DependencyReference{{Name: "base"}},
		},
	}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	got := eventuallyCondition(t, hr, meta.ReadyCondition, false, helmv2.DependencyNotReadyReason, 30*time.Second)
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(ContainSubstring("dependency '" + ns + "/base' not found"))

	publishChart(t, ns, "app", appChart(t, "1.0.0"), "1.0.0")
	g.Expect(env.Client.Create(ctx, newRelease(ns, "base", "app", ""))).To(Succeed())

	// The dependency becomes ready; the HelmChart is created and waits
	// for source-controller (played by the test) to publish an artifact.
	hcName := ns + "-tpl"
	eventuallyCondition(t, hr, meta.ReadyCondition, false, helmv2.ArtifactFailedReason, 90*time.Second)
	// Conditions and the rest of status are two patches: wait for both.
	g.Eventually(func(g Gomega) {
		cur := &helmv2.HelmRelease{}
		g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name}, cur)).To(Succeed())
		g.Expect(cur.Status.HelmChart).To(Equal(ns + "/" + hcName))
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	var hc sourcev1.HelmChart
	g.Expect(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: hcName}, &hc)).To(Succeed())
	g.Expect(hc.Spec.Chart).To(Equal("app"))
	g.Expect(hc.Spec.Version).To(Equal("1.x"))
	g.Expect(hc.Spec.Interval.Duration).To(Equal(time.Hour))
	g.Expect(hc.Labels).To(HaveKeyWithValue(helmv2.NameLabel, "tpl"))
	g.Expect(hc.Labels).To(HaveKeyWithValue(apis.ShardKeyLabel, "shard1"))

	publishChart(t, ns, hcName, appChart(t, "1.0.0"), "1.0.0")
	eventuallyReady(t, hr, 90*time.Second)

	g.Expect(env.Client.Delete(ctx, hr)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: hcName}, &sourcev1.HelmChart{}))
	}, 60*time.Second).Should(BeTrue())
}

// tarGz packs files (path → content) into a gzipped tarball.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
