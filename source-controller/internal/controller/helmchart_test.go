package controller

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

func waitSourceReady(g Gomega, obj client.Object, check func(g Gomega)) {
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		getter := obj.(conditions.Getter)
		g.Expect(conditions.IsReady(getter)).To(BeTrue(), conditions.GetMessage(getter, meta.ReadyCondition))
		check(g)
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// downloadChart fetches a stored chart over HTTP and loads it.
func downloadChart(g Gomega, art *meta.Artifact) (name, version string, values map[string]any) {
	resp, err := http.Get(art.URL)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	ch, err := loader.LoadArchive(&buf)
	g.Expect(err).NotTo(HaveOccurred())
	return ch.Name(), ch.Metadata.Version, ch.Values
}

func TestHelmRepositoryAndChart(t *testing.T) {
	g := NewWithT(t)
	h := startOCIHarness(t)
	ctx := context.Background()
	repoSrv := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	g.Expect(repoSrv.AddChart("podinfo", "6.0.0", nil)).To(Succeed())
	g.Expect(repoSrv.AddChart("podinfo", "6.1.0", map[string]string{"values-prod.yaml": "replicaCount: 3\n"})).To(Succeed())
	g.Expect(repoSrv.AddChart("podinfo", "7.0.0", nil)).To(Succeed())
	ns := env.NewNamespace(t)

	hr := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: repoSrv.URL(), Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	waitSourceReady(g, hr, func(g Gomega) {
		g.Expect(hr.Status.Artifact).NotTo(BeNil())
		g.Expect(hr.Status.Artifact.Revision).To(HavePrefix("sha256:"))
		g.Expect(hr.Status.URL).To(HaveSuffix("/index.yaml"))
	})
	firstIndex := hr.Status.Artifact.DeepCopy()

	hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: ns},
		Spec: sourcev1.HelmChartSpec{Chart: "podinfo", Version: "6.x", Interval: metav1.Duration{Duration: time.Hour},
			SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "podinfo"}}}
	g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
	waitSourceReady(g, hc, func(g Gomega) {
		g.Expect(hc.Status.Artifact).NotTo(BeNil())
		g.Expect(hc.Status.Artifact.Revision).To(Equal("6.1.0"))
	})
	g.Expect(conditions.GetMessage(hc, meta.ReadyCondition)).To(Equal("pulled chart 'podinfo' with version '6.1.0'"))
	name, version, _ := downloadChart(g, hc.Status.Artifact)
	g.Expect([]string{name, version}).To(Equal([]string{"podinfo", "6.1.0"}))

	// An unchanged index keeps its artifact; charts share one parsed index.
	annotateReconcile(g, hr)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hr), hr)).To(Succeed())
		g.Expect(hr.Status.LastHandledReconcileAt).To(Equal(hr.Annotations[meta.ReconcileRequestAnnotation]))
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(hr.Status.Artifact).To(Equal(firstIndex))

	// A new 6.x in the repository: the index changes and the chart follows without a request.
	g.Expect(repoSrv.AddChart("podinfo", "6.2.0", nil)).To(Succeed())
	annotateReconcile(g, hr)
	waitSourceReady(g, hc, func(g Gomega) {
		g.Expect(hc.Status.Artifact).NotTo(BeNil())
		g.Expect(hc.Status.Artifact.Revision).To(Equal("6.2.0"))
	})

	// A requested reconcile of an up-to-date chart (nothing loaded) keeps it Ready.
	annotateReconcile(g, hc)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hc), hc)).To(Succeed())
		g.Expect(hc.Status.LastHandledReconcileAt).To(Equal(hc.Annotations[meta.ReconcileRequestAnnotation]))
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(conditions.GetMessage(hc, meta.ReadyCondition)).To(Equal("pulled chart 'podinfo' with version '6.2.0'"))

	// valuesFiles are merged into the stored chart's values.
	withValues := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: "prod", Namespace: ns},
		Spec: sourcev1.HelmChartSpec{Chart: "podinfo", Version: "6.1.0", Interval: metav1.Duration{Duration: time.Hour},
			ValuesFiles: []string{"values.yaml", "values-prod.yaml"},
			SourceRef:   sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "podinfo"}}}
	g.Expect(env.Client.Create(ctx, withValues)).To(Succeed())
	waitSourceReady(g, withValues, func(g Gomega) { g.Expect(withValues.Status.ObservedValuesFiles).To(HaveLen(2)) })
	_, _, values := downloadChart(g, withValues.Status.Artifact)
	g.Expect(values).To(HaveKeyWithValue("replicaCount", BeNumerically("==", 3)))
	g.Expect(h.indexCache.Len()).To(BeNumerically(">=", 1))

	// Delete removes the chart files.
	path := filepath.Join(h.storage.BasePath, hc.Status.Artifact.Path)
	g.Expect(env.Client.Delete(ctx, hc)).To(Succeed())
	g.Eventually(func() bool { _, err := os.Stat(path); return os.IsNotExist(err) }, 10*time.Second, 100*time.Millisecond).Should(BeTrue())
}

func TestHelmChartFromGitRepositoryArtifact(t *testing.T) {
	g := NewWithT(t)
	h := startOCIHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)

	// A GitRepository whose artifact (a chart under charts/app) is in the controller's storage.
	depRepo := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	g.Expect(depRepo.AddChart("redis", "1.4.0", nil)).To(Succeed())
	src := t.TempDir()
	files := map[string]string{
		"charts/common/Chart.yaml":        "apiVersion: v2\nname: common\nversion: 0.1.0\n",
		"charts/with-deps/Chart.yaml":     "apiVersion: v2\nname: with-deps\nversion: 2.0.0\ndependencies:\n- name: common\n  version: 0.1.0\n  repository: file://../common\n- name: redis\n  version: 1.x\n  repository: " + depRepo.URL() + "\n",
		"charts/with-deps/values.yaml":    "{}\n",
		"charts/app/Chart.yaml":           "apiVersion: v2\nname: app\nversion: 1.2.3\n",
		"charts/app/values.yaml":          "replicas: 1\n",
		"charts/app/templates/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
		"charts/needs-dep/Chart.yaml":     "apiVersion: v2\nname: needs-dep\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: 1.x\n  repository: ftp://example.com/charts\n",
		"charts/needs-dep/values.yaml":    "{}\n",
		"charts/needs-dep/templates/a.md": "x",
	}
	for p, c := range files {
		g.Expect(os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)).To(Succeed())
		g.Expect(os.WriteFile(filepath.Join(src, p), []byte(c), 0o644)).To(Succeed())
	}
	// Suspended, so the package's GitRepository reconciler leaves the status the test sets alone.
	gr := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "charts", Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/charts", Interval: metav1.Duration{Duration: time.Hour}, Suspend: true}}
	g.Expect(env.Client.Create(ctx, gr)).To(Succeed())
	revision := "main@sha1:0123456789abcdef0123456789abcdef01234567"
	art := h.storage.NewArtifactFor(sourcev1.GitRepositoryKind, gr, revision, "0123.tar.gz")
	g.Expect(h.storage.MkdirAllFor(art)).To(Succeed())
	g.Expect(h.storage.Archive(&art, src, nil)).To(Succeed())
	gr.Status.Artifact = &art
	g.Expect(env.Client.Status().Update(ctx, gr)).To(Succeed())

	newChart := func(name, path, strategy string) *sourcev1.HelmChart {
		hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: path, ReconcileStrategy: strategy, Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "charts"}}}
		g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
		return hc
	}
	byVersion := newChart("by-version", "charts/app", "ChartVersion")
	waitSourceReady(g, byVersion, func(g Gomega) {
		g.Expect(byVersion.Status.Artifact).NotTo(BeNil())
		g.Expect(byVersion.Status.Artifact.Revision).To(Equal("1.2.3"))
	})
	byRevision := newChart("by-revision", "./charts/app", "Revision")
	waitSourceReady(g, byRevision, func(g Gomega) {
		g.Expect(byRevision.Status.Artifact).NotTo(BeNil())
		g.Expect(byRevision.Status.Artifact.Revision).To(Equal("1.2.3+0123456789ab"))
	})
	_, version, _ := downloadChart(g, byRevision.Status.Artifact)
	g.Expect(version).To(Equal("1.2.3+0123456789ab"))

	// Dependencies: one from the source (file://), one from a Helm repository.
	withDeps := newChart("with-deps", "charts/with-deps", "ChartVersion")
	waitSourceReady(g, withDeps, func(g Gomega) { g.Expect(withDeps.Status.Artifact).NotTo(BeNil()) })
	resp, err := http.Get(withDeps.Status.Artifact.URL)
	g.Expect(err).NotTo(HaveOccurred())
	packaged, err := loader.LoadArchive(resp.Body)
	resp.Body.Close()
	g.Expect(err).NotTo(HaveOccurred())
	var deps []string
	for _, d := range packaged.Dependencies() {
		deps = append(deps, d.Name()+"-"+d.Metadata.Version)
	}
	g.Expect(deps).To(ConsistOf("common-0.1.0", "redis-1.4.0"))

	for name, tc := range map[string]struct{ path, message string }{
		"escape":     {"../../etc", "escapes"},
		"missing":    {"charts/nope", `chart path "charts/nope" not found`},
		"dependency": {"charts/needs-dep", `dependency "redis" of chart "needs-dep": repository "ftp://example.com/charts" is not supported yet`},
	} {
		hc := newChart(name, tc.path, "ChartVersion")
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(hc), hc)).To(Succeed())
			g.Expect(conditions.IsStalled(hc)).To(BeTrue(), name)
			g.Expect(conditions.GetReason(hc, meta.ReadyCondition)).To(Equal(chartBuildFailedReason))
			g.Expect(conditions.GetMessage(hc, meta.ReadyCondition)).To(ContainSubstring(tc.message))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	}
}

func TestHelmSourcesBadInput(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	private := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{Auth: testserver.BasicAuth{Username: "u", Password: "p"}})
	g.Expect(private.AddChart("app", "1.0.0", nil)).To(Succeed())
	public := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	g.Expect(public.AddChart("app", "1.0.0", nil)).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns},
		Data: map[string][]byte{"username": []byte("u"), "password": []byte("p")}})).To(Succeed())

	noCreds := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "no-creds", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: private.URL(), Interval: metav1.Duration{Duration: time.Hour}}}
	withCreds := noCreds.DeepCopy()
	withCreds.Name = "with-creds"
	withCreds.Spec.SecretRef = &meta.LocalObjectReference{Name: "creds"}
	pub := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "public", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: public.URL(), Interval: metav1.Duration{Duration: time.Hour}}}
	for _, o := range []client.Object{noCreds, withCreds, pub} {
		g.Expect(env.Client.Create(ctx, o)).To(Succeed())
	}
	expectReason := func(obj client.Object, reason, message string) {
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
			getter := obj.(conditions.Getter)
			g.Expect(conditions.GetReason(getter, meta.ReadyCondition)).To(Equal(reason))
			g.Expect(conditions.GetMessage(getter, meta.ReadyCondition)).To(ContainSubstring(message))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed(), fmt.Sprintf("%s: %s", obj.GetName(), reason))
	}
	expectReason(noCreds, sourcev1.AuthenticationFailedReason, "Unauthorized")
	waitSourceReady(g, withCreds, func(Gomega) {})
	waitSourceReady(g, pub, func(Gomega) {})

	chart := func(name, source, version string) *sourcev1.HelmChart {
		hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: "app", Version: version, Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: source}}}
		g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
		return hc
	}
	expectReason(chart("no-version", "public", "9.x"), chartPullFailedReason, "no chart version of 'app' matches '9.x'")
	expectReason(chart("no-source", "absent", "*"), sourceUnavailableReason, "HelmRepository 'absent' not found")
	waitSourceReady(g, chart("private", "with-creds", "1.0.0"), func(Gomega) {})
}
