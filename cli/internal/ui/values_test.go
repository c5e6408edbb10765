package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// TestHelmReleaseValuesDiffRollback: a HelmRelease's page shows its values
// layers with the Secret's values masked, the diff of two history
// entries, and the entry to roll back to.
func TestHelmReleaseValuesDiffRollback(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	const password = "hunter2-do-not-show"
	for _, o := range []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-values"},
			Data: map[string]string{"values.yaml": "replicaCount: 3\n"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-secrets"},
			Data: map[string][]byte{"values.yaml": []byte("db:\n  user: web\n  password: " + password + "\n"),
				"token": []byte(password)}},
	} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Hour},
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{Chart: "web",
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: "HelmRepository", Name: "charts"}}},
			ValuesFrom: []meta.ValuesReference{{Kind: "ConfigMap", Name: "web-values"},
				{Kind: "Secret", Name: "web-secrets"}, {Kind: "Secret", Name: "web-secrets", ValuesKey: "token", TargetPath: "auth.token"}},
			Values: &apiextensionsv1.JSON{Raw: []byte(`{"image":{"tag":"1.2.3"}}`)}}}
	if err := env.Client.Create(ctx, hr); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	hr.Status.History = helmv2.Snapshots{
		{Name: "web", Namespace: ns, Version: 3, Status: "failed", ChartName: "web", ChartVersion: "1.3.0",
			Digest: "sha256:c3", ConfigDigest: "sha256:v3", FirstDeployed: now, LastDeployed: now},
		{Name: "web", Namespace: ns, Version: 2, Status: "superseded", ChartName: "web", ChartVersion: "1.2.3",
			Digest: "sha256:c2", ConfigDigest: "sha256:v2", FirstDeployed: now, LastDeployed: now},
	}
	if err := env.Client.Status().Update(ctx, hr); err != nil {
		t.Fatal(err)
	}

	b := open(t, env.Config, "")
	page := "/objects/helmrelease/" + ns + "/web"
	body := b.eventually(t, page, `id="history-diff"`)
	if strings.Contains(body, password) {
		t.Fatalf("the page shows a Secret's value:\n%s", body)
	}
	for _, want := range []string{
		"ConfigMap " + ns + "/web-values values.yaml", "replicaCount: 3",
		"Secret " + ns + "/web-secrets values.yaml", "db.password: &#39;***&#39;", "db.user: &#39;***&#39;",
		"Secret " + ns + "/web-secrets token → auth.token", "spec.values", "tag: 1.2.3",
		`<tr class="changed"><td>chartVersion</td><td class="rev">1.2.3</td><td class="rev">1.3.0</td></tr>`,
		`<tr><td>chartName</td><td class="rev">web</td><td class="rev">web</td></tr>`,
		"Return to release v2: chart web 1.2.3 (values digest sha256:v2)", "helm rollback web 2 -n " + ns,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("the HelmRelease page lacks %q:\n%s", want, body)
		}
	}
	// Entries are chosen in the URL; an index out of range says so.
	body = b.eventually(t, page+"?from=0&to=1", `id="history-diff"`)
	if !strings.Contains(body, `<td>chartVersion</td><td class="rev">1.3.0</td><td class="rev">1.2.3</td>`) {
		t.Fatalf("from=0&to=1 does not swap the sides:\n%s", body)
	}
	b.eventually(t, page+"?from=7", "No such entries.")
}

// TestKustomizationRollback: the page shows the Git revert of the last
// applied commit.
func TestKustomizationRollback(t *testing.T) {
	ns := env.NewNamespace(t)
	ks := kustomization(t, ns, "apps", metav1.ConditionTrue, "applied")
	ks.Status.LastAppliedRevision = "main@sha1:5f1e3b2c9a7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f"
	if err := env.Client.Status().Update(context.Background(), ks); err != nil {
		t.Fatal(err)
	}
	b := open(t, env.Config, "")
	body := b.eventually(t, "/objects/kustomization/"+ns+"/apps", `id="rollback"`)
	for _, want := range []string{"git revert --no-edit 5f1e3b2c9a7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f",
		"gotk -n " + ns + " reconcile kustomization apps --with-source"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the Kustomization page lacks %q:\n%s", want, body)
		}
	}
}
