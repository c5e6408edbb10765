package ui

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// TestGraph: the graph nests what is built from each source (a
// Kustomization under its GitRepository, a HelmRelease under its HelmChart
// under its HelmRepository), marks a missing source, and lists dependsOn.
func TestGraph(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	hour := metav1.Duration{Duration: time.Hour}
	for _, o := range []client.Object{
		&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"},
			Spec: sourcev1.GitRepositorySpec{URL: "https://git.example/repo", Interval: hour}},
		&sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "charts"},
			Spec: sourcev1.HelmRepositorySpec{URL: "https://charts.example", Interval: hour}},
		&sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns + "-web"},
			Spec: sourcev1.HelmChartSpec{Chart: "web", Interval: hour,
				SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: "HelmRepository", Name: "charts"}}},
		&kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "apps"},
			Spec: kustomizev1.KustomizationSpec{Interval: hour, Path: "./apps",
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"},
				DependsOn: []meta.DependencyReference{{Name: "infra"}}}},
		&kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "infra"},
			Spec: kustomizev1.KustomizationSpec{Interval: hour, Path: "./infra",
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "gone"}}},
	} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: helmv2.HelmReleaseSpec{Interval: hour, Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
			Chart: "web", SourceRef: helmv2.CrossNamespaceObjectReference{Kind: "HelmRepository", Name: "charts"}}}}}
	if err := env.Client.Create(ctx, hr); err != nil {
		t.Fatal(err)
	}
	hr.Status.HelmChart = ns + "/" + ns + "-web"
	if err := env.Client.Status().Update(ctx, hr); err != nil {
		t.Fatal(err)
	}

	b := open(t, env.Config, "")
	body := b.eventually(t, "/graph", `<a href="/objects/helmrelease/`+ns+`/web">`)
	flat := regexp.MustCompile(`\s+`).ReplaceAllString(body, " ")
	for _, want := range []string{
		// GitRepository repo → Kustomization apps
		`<a href="/objects/gitrepository/` + ns + `/repo">` + ns + `/repo</a> <span class="st st-progressing">Progressing</span> <ul><li><span class="gkind">Kustomization</span> <a href="/objects/kustomization/` + ns + `/apps">`,
		// HelmRepository charts → HelmChart → HelmRelease
		`<a href="/objects/helmrepository/` + ns + `/charts">` + ns + `/charts</a> <span class="st st-progressing">Progressing</span> <ul><li><span class="gkind">HelmChart</span> <a href="/objects/helmchart/` + ns + `/` + ns + `-web">`,
		ns + `-web</a> <span class="st st-progressing">Progressing</span> <ul><li><span class="gkind">HelmRelease</span> <a href="/objects/helmrelease/` + ns + `/web">`,
		// a source that does not exist
		`<span class="gkind">GitRepository</span> ` + ns + `/gone <span class="st st-failed">not found</span>`,
		// dependsOn
		`<td>Kustomization <a href="/objects/kustomization/` + ns + `/apps">` + ns + `/apps</a></td> <td><div><a href="/objects/kustomization/` + ns + `/infra">`,
	} {
		if !strings.Contains(flat, want) {
			t.Fatalf("the graph lacks %q:\n%s", want, flat)
		}
	}
}
