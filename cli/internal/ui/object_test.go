package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// TestObjectPageChainHistoryInventory: a HelmRelease's page follows its
// HelmChart to the artifact and lists its history; a Kustomization's page
// lists its inventory, linking the Flux objects in it.
func TestObjectPageChainHistoryInventory(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	hour := metav1.Duration{Duration: time.Hour}
	chart := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns + "-web"},
		Spec: sourcev1.HelmChartSpec{Chart: "web", Interval: hour,
			SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: "HelmRepository", Name: "charts"}}}
	if err := env.Client.Create(ctx, chart); err != nil {
		t.Fatal(err)
	}
	chart.Status.Artifact = &meta.Artifact{Path: "web.tgz", URL: "http://x/web.tgz", Revision: "1.2.3",
		Digest: "sha256:c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00", LastUpdateTime: metav1.Now()}
	if err := env.Client.Status().Update(ctx, chart); err != nil {
		t.Fatal(err)
	}
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: helmv2.HelmReleaseSpec{Interval: hour, Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
			Chart: "web", SourceRef: helmv2.CrossNamespaceObjectReference{Kind: "HelmRepository", Name: "charts"}}}}}
	if err := env.Client.Create(ctx, hr); err != nil {
		t.Fatal(err)
	}
	hr.Status.HelmChart = ns + "/" + chart.Name
	hr.Status.LastAttemptedRevision = "1.2.3"
	hr.Status.History = helmv2.Snapshots{{Name: "web", Namespace: ns, Version: 2, Status: "deployed", ChartName: "web",
		ChartVersion: "1.2.3", Digest: "sha256:aa", ConfigDigest: "sha256:bb", FirstDeployed: metav1.Now(), LastDeployed: metav1.Now()}}
	if err := env.Client.Status().Update(ctx, hr); err != nil {
		t.Fatal(err)
	}
	ks := kustomization(t, ns, "apps", metav1.ConditionTrue, "applied")
	ks.Status.Inventory = &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{
		{ID: ns + "_web_apps_Deployment", Version: "v1"},
		{ID: ns + "_web_helm.toolkit.fluxcd.io_HelmRelease", Version: "v2"},
	}}
	if err := env.Client.Status().Update(ctx, ks); err != nil {
		t.Fatal(err)
	}

	b := open(t, env.Config, "")
	body := b.eventually(t, "/objects/helmrelease/"+ns+"/web", "chartVersion")
	for _, want := range []string{
		`<a href="/objects/helmchart/` + ns + `/` + chart.Name + `">HelmChart ` + ns + `/` + chart.Name + `</a>`,
		chart.Status.Artifact.Digest, "<dd class=\"rev\">1.2.3</dd>", "deployed",
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the HelmRelease page lacks %q:\n%s", want, body)
		}
	}
	body = b.eventually(t, "/objects/kustomization/"+ns+"/apps", `id="inventory"`)
	for _, want := range []string{"Deployment", "apps/v1", `<a href="/objects/helmrelease/` + ns + `/web">web</a>`} {
		if !strings.Contains(body, want) {
			t.Fatalf("the Kustomization page lacks %q:\n%s", want, body)
		}
	}
}
