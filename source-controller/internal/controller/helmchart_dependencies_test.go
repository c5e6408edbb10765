package controller

import (
	"context"
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

// storeGitSource creates a suspended GitRepository (so the package's Git
// reconciler leaves its status alone) whose artifact, in the harness's
// storage, holds files.
func storeGitSource(g Gomega, t *testing.T, h *ociHarness, ns, name string, files map[string]string) {
	src := t.TempDir()
	for p, c := range files {
		g.Expect(os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)).To(Succeed())
		g.Expect(os.WriteFile(filepath.Join(src, p), []byte(c), 0o644)).To(Succeed())
	}
	gr := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/" + name, Interval: metav1.Duration{Duration: time.Hour}, Suspend: true}}
	g.Expect(env.Client.Create(context.Background(), gr)).To(Succeed())
	art := h.storage.NewArtifactFor(sourcev1.GitRepositoryKind, gr, "main@sha1:89abcdef0123456789abcdef0123456789abcdef", "89ab.tar.gz")
	g.Expect(h.storage.MkdirAllFor(art)).To(Succeed())
	g.Expect(h.storage.Archive(&art, src, nil)).To(Succeed())
	gr.Status.Artifact = &art
	g.Expect(env.Client.Status().Update(context.Background(), gr)).To(Succeed())
}

// dependencyVersions downloads a stored chart and lists its dependencies as name-version.
func dependencyVersions(g Gomega, art *meta.Artifact) []string {
	resp, err := http.Get(art.URL)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	packaged, err := loader.LoadArchive(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	var deps []string
	for _, d := range packaged.Dependencies() {
		deps = append(deps, d.Name()+"-"+d.Metadata.Version)
	}
	return deps
}

// Dependencies declared by alias or by the URL of a HelmRepository of the
// namespace resolve through that HelmRepository's stored index and
// credentials; an alias naming no HelmRepository is a condition naming the
// dependency.
func TestHelmChartDependenciesThroughHelmRepositories(t *testing.T) {
	g := NewWithT(t)
	h := startOCIHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)

	private := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{Auth: testserver.BasicAuth{Username: "u", Password: "p"}})
	g.Expect(private.AddChart("redis", "1.4.0", nil)).To(Succeed())
	g.Expect(private.AddChart("cache", "2.0.0", nil)).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns},
		Data: map[string][]byte{"username": []byte("u"), "password": []byte("p")}})).To(Succeed())
	hr := &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "private", Namespace: ns},
		Spec: sourcev1.HelmRepositorySpec{URL: private.URL() + "/", Interval: metav1.Duration{Duration: time.Hour},
			SecretRef: &meta.LocalObjectReference{Name: "creds"}}}
	g.Expect(env.Client.Create(ctx, hr)).To(Succeed())
	waitSourceReady(g, hr, func(g Gomega) { g.Expect(hr.Status.Artifact).NotTo(BeNil()) })
	// Published after the HelmRepository stored its index: dependencies
	// resolved through the stored index do not see it.
	g.Expect(private.AddChart("redis", "1.5.0", nil)).To(Succeed())

	chartYAML := func(name, repository string) string {
		return "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\ndependencies:\n" +
			"- name: redis\n  version: 1.x\n  repository: \"" + repository + "\"\n"
	}
	storeGitSource(g, t, h, ns, "charts", map[string]string{
		"by-at/Chart.yaml":    chartYAML("by-at", "@private"),
		"by-alias/Chart.yaml": chartYAML("by-alias", "alias:private"),
		"by-url/Chart.yaml":   chartYAML("by-url", private.URL()) + "- name: cache\n  version: 2.0.0\n  repository: " + private.URL() + "\n",
		"missing/Chart.yaml":  chartYAML("missing", "@absent"),
	})
	newChart := func(name string) *sourcev1.HelmChart {
		hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: sourcev1.HelmChartSpec{Chart: name, Interval: metav1.Duration{Duration: time.Hour},
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "charts"}}}
		g.Expect(env.Client.Create(ctx, hc)).To(Succeed())
		return hc
	}
	for name, want := range map[string][]string{
		"by-at":    {"redis-1.4.0"},
		"by-alias": {"redis-1.4.0"},
		"by-url":   {"redis-1.4.0", "cache-2.0.0"},
	} {
		hc := newChart(name)
		waitSourceReady(g, hc, func(g Gomega) { g.Expect(hc.Status.Artifact).NotTo(BeNil()) })
		g.Expect(dependencyVersions(g, hc.Status.Artifact)).To(ConsistOf(want), name)
	}

	missing := newChart("missing")
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(missing), missing)).To(Succeed())
		g.Expect(conditions.IsReady(missing)).To(BeFalse())
		g.Expect(conditions.GetReason(missing, meta.ReadyCondition)).To(Equal(chartBuildFailedReason))
		g.Expect(conditions.GetMessage(missing, meta.ReadyCondition)).To(Equal(
			`dependency "redis" of chart "missing": repository alias "@absent": no HelmRepository 'absent' in namespace '` + ns + `'`))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(missing.Status.Artifact).To(BeNil())
}

// TestBetterRepositoryIsAnOrder: among HelmRepositories declaring one
// URL, the one with credentials wins, then the first by name, whatever
// order the cache lists them in.
func TestBetterRepositoryIsAnOrder(t *testing.T) {
	withCreds := func(name string) *sourcev1.HelmRepository {
		return &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: sourcev1.HelmRepositorySpec{SecretRef: &meta.LocalObjectReference{Name: "s"}}}
	}
	anon := func(name string) *sourcev1.HelmRepository {
		return &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	for _, tc := range []struct {
		a, b *sourcev1.HelmRepository
		want bool
	}{
		{withCreds("z"), anon("a"), true},
		{anon("a"), withCreds("z"), false},
		{anon("a"), anon("b"), true},
		{withCreds("b"), withCreds("a"), false},
	} {
		if got := betterRepository(tc.a, tc.b); got != tc.want {
			t.Errorf("betterRepository(%s, %s) = %v", tc.a.Name, tc.b.Name, got)
		}
	}
}
