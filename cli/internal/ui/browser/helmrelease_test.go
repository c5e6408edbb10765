package browser

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// helmRelease creates a HelmRelease "web" with values from a Secret and
// inline, and two history entries, so its page shows values, a history
// diff and a rollback hint.
func helmRelease(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-secrets"},
		Data: map[string][]byte{"values.yaml": []byte("db:\n  password: s3cr3t\n")}}
	if err := env.Client.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: helmv2.HelmReleaseSpec{Interval: metav1.Duration{Duration: time.Hour},
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{Chart: "web",
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: "HelmRepository", Name: "charts"}}},
			ValuesFrom: []meta.ValuesReference{{Kind: "Secret", Name: sec.Name}},
			Values:     &apiextensionsv1.JSON{Raw: []byte(`{"replicaCount":2}`)}}}
	if err := env.Client.Create(ctx, hr); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	hr.Status.History = helmv2.Snapshots{
		{Name: "web", Namespace: ns, Version: 2, Status: "deployed", ChartName: "web", ChartVersion: "1.3.0",
			Digest: "sha256:c2", ConfigDigest: "sha256:v2", FirstDeployed: now, LastDeployed: now},
		{Name: "web", Namespace: ns, Version: 1, Status: "superseded", ChartName: "web", ChartVersion: "1.2.0",
			Digest: "sha256:c1", ConfigDigest: "sha256:v1", FirstDeployed: now, LastDeployed: now},
	}
	if err := env.Client.Status().Update(ctx, hr); err != nil {
		t.Fatal(err)
	}
}
