package apis_test

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestInvalidObjectsAreRejected checks that the API server refuses bad
// input with a message naming the field, before any controller sees it.
func TestInvalidObjectsAreRejected(t *testing.T) {
	long := strings.Repeat("a", 60)
	exclusions := "[" + strings.Repeat(`"^x$",`, 26) + `"^y$"]`
	tests := []struct {
		name string
		yaml string
		want string // a field path or rule message the error must name
	}{
		{"git interval not a duration", gitRepo(`interval: 1 minute
  url: https://example.com/repo`), "spec.interval"},
		{"git url scheme", gitRepo(`interval: 1m
  url: ftp://example.com/repo`), "spec.url"},
		{"git url missing", gitRepo(`interval: 1m`), "spec.url"},
		{"git verify mode", gitRepo(`interval: 1m
  url: https://example.com/repo
  verify: {mode: Everything, secretRef: {name: keys}}`), "spec.verify.mode"},
		{"git service account without cloud provider", gitRepo(`interval: 1m
  url: https://example.com/repo
  provider: generic
  serviceAccountName: sa`), "serviceAccountName"},
		{"oci url scheme", `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: bad}
spec: {interval: 1m, url: "https://ghcr.io/org/app"}`, "spec.url"},
		{"bucket without bucketName", `apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata: {name: bad}
spec: {interval: 1m, endpoint: minio.example.com}`, "spec.bucketName"},
		{"helmchart reconcile strategy", `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: bad}
spec: {interval: 1m, chart: podinfo, reconcileStrategy: Whenever, sourceRef: {kind: HelmRepository, name: repo}}`, "spec.reconcileStrategy"},
		{"kustomization without prune", `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: bad}
spec: {interval: 5m, sourceRef: {kind: GitRepository, name: repo}}`, "spec.prune"},
		{"kustomization source kind", `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: bad}
spec: {interval: 5m, prune: true, sourceRef: {kind: ConfigMap, name: repo}}`, "spec.sourceRef.kind"},
		{"kustomization deletion policy", `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: bad}
spec: {interval: 5m, prune: true, deletionPolicy: Sometimes, sourceRef: {kind: GitRepository, name: repo}}`, "spec.deletionPolicy"},
		{"helmrelease with chart and chartRef", `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: bad}
spec:
  interval: 5m
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: repo}}}
  chartRef: {kind: OCIRepository, name: podinfo}`, "chart"},
		{"helmrelease release name too long", `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: bad}
spec: {interval: 5m, releaseName: ` + long + `, chartRef: {kind: OCIRepository, name: podinfo}}`, "spec.releaseName"},
		{"helmrelease remediation strategy", `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: bad}
spec: {interval: 5m, chartRef: {kind: OCIRepository, name: podinfo}, upgrade: {remediation: {strategy: retry}}}`, "spec.upgrade.remediation.strategy"},
		{"provider type unknown", `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: bad}
spec: {type: carrier-pigeon}`, "spec.type"},
		{"alert severity", `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: bad}
spec: {providerRef: {name: slack}, eventSeverity: critical, eventSources: [{kind: Kustomization, name: "*"}]}`, "spec.eventSeverity"},
		{"alert without providerRef", `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: bad}
spec: {eventSources: [{kind: Kustomization, name: "*"}]}`, "spec.providerRef"},
		{"alert event source kind", `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: bad}
spec: {providerRef: {name: slack}, eventSources: [{kind: Pod, name: "*"}]}`, "spec.eventSources[0].kind"},
		{"receiver type unknown", `apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: bad}
spec: {type: svn, resources: [{kind: GitRepository, name: app}], secretRef: {name: token}}`, "spec.type"},
		{"image policy order", `apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: bad}
spec: {imageRepositoryRef: {name: app}, policy: {alphabetical: {order: sideways}}}`, "spec.policy.alphabetical.order"},
		{"image repository too many exclusions", `apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: bad}
spec: {image: ghcr.io/org/app, interval: 5m, exclusionList: ` + exclusions + `}`, "spec.exclusionList"},
		{"image automation without author email", `apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata: {name: bad}
spec:
  interval: 5m
  sourceRef: {kind: GitRepository, name: app}
  git: {commit: {author: {name: bot}}}`, "spec.git.commit.author.email"},
	}
	ns := env.NewNamespace(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			objs := decodeObjects(t, []byte(tt.yaml))
			g.Expect(objs).To(HaveLen(1))
			obj := objs[0]
			obj.SetNamespace(ns)
			err := env.Client.Create(context.Background(), obj, client.DryRunAll)
			g.Expect(err).To(HaveOccurred(), "the API server accepted an invalid object")
			g.Expect(err.Error()).To(ContainSubstring(tt.want))
		})
	}
	if len(tests) < 15 {
		t.Fatalf("only %d invalid cases", len(tests))
	}
}

func gitRepo(spec string) string {
	return "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: bad}\nspec:\n  " + spec + "\n"
}
