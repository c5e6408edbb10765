package fleet

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// fleetRepo is the monorepo: the cluster directory declares the
// ArtifactGenerator and the Kustomizations, infrastructure/ and apps/
// hold what they apply. configs needs the Namespace controllers creates,
// so only dependsOn makes it apply cleanly.
var fleetRepo = map[string]string{
	"clusters/production/infrastructure.yaml": `apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: flux-system
  namespace: flux-system
spec:
  sources:
    - alias: repo
      kind: GitRepository
      name: flux-system
  artifacts:
    - name: infrastructure
      originRevision: "@repo"
      copy:
        - from: "@repo/infrastructure/**"
          to: "@artifact/"
    - name: apps
      originRevision: "@repo"
      copy:
        - from: "@repo/apps/**"
          to: "@artifact/"
          exclude: ["*.md"]
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infra-controllers
  namespace: flux-system
spec:
  interval: 1h
  retryInterval: 2s
  sourceRef:
    kind: ExternalArtifact
    name: infrastructure
  path: ./controllers
  prune: true
  wait: true
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infra-configs
  namespace: flux-system
spec:
  dependsOn:
    - name: infra-controllers
  interval: 1h
  retryInterval: 2s
  sourceRef:
    kind: ExternalArtifact
    name: infrastructure
  path: ./configs
  prune: true
`,
	"clusters/production/apps.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  dependsOn:
    - name: infra-configs
  interval: 1h
  retryInterval: 2s
  sourceRef:
    kind: ExternalArtifact
    name: apps
  path: ./production
  prune: true
  wait: true
`,
	"infrastructure/controllers/kustomization.yaml": "resources: [namespace.yaml, ingress-nginx.yaml]\n",
	"infrastructure/controllers/namespace.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ingress-nginx\n",
	"infrastructure/controllers/ingress-nginx.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: ingress-nginx
  namespace: ingress-nginx
spec:
  interval: 1h
  url: {{HELM_REPO}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ingress-nginx
  namespace: ingress-nginx
spec:
  interval: 1h
  chart:
    spec:
      chart: ingress-nginx
      version: "4.x"
      sourceRef:
        kind: HelmRepository
        name: ingress-nginx
  values:
    message: controller
`,
	"infrastructure/configs/kustomization.yaml":   "resources: [cluster-issuers.yaml]\n",
	"infrastructure/configs/cluster-issuers.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-issuers\n  namespace: ingress-nginx\ndata:\n  issuer: letsencrypt\n",
	"apps/base/podinfo/kustomization.yaml":        "resources: [namespace.yaml, release.yaml]\n",
	"apps/base/podinfo/namespace.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n",
	"apps/base/podinfo/release.yaml":              podinfoRelease("1"),
	"apps/base/podinfo/README.md":                 "podinfo\n",
	"apps/production/kustomization.yaml":          "resources: [../base/podinfo]\n",
}

// podinfoRelease is podinfo from an OCI chart, as the example deploys it.
func podinfoRelease(replicas string) string {
	return `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: podinfo
  namespace: podinfo
spec:
  interval: 1h
  url: oci://{{REGISTRY}}/charts/podinfo
  insecure: true
  ref:
    tag: 6.0.0
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: podinfo
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: podinfo
  values:
    message: "replicas=` + replicas + `"
`
}

// bootstrap is what `flux bootstrap` leaves: the repository and the
// Kustomization applying the cluster directory.
const bootstrap = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1h
  url: %s
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./clusters/production
  prune: true
`

func kustomization(name string) *kustomizev1.Kustomization {
	ks := &kustomizev1.Kustomization{}
	ks.Name, ks.Namespace = name, ns
	return ks
}

func helmRelease(namespace, name string) *helmv2.HelmRelease {
	hr := &helmv2.HelmRelease{}
	hr.Name, hr.Namespace = name, namespace
	return hr
}

// expectData checks one key of a ConfigMap.
func expectData(ctx context.Context, namespace, name, key, want string) error {
	v, err := configMapData(ctx, namespace, name, key)
	if err == nil && v != want {
		err = fmt.Errorf("%s/%s %s=%q, want %q", namespace, name, key, v, want)
	}
	return err
}

func configMapData(ctx context.Context, namespace, name, key string) (string, error) {
	var cm corev1.ConfigMap
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &cm); err != nil {
		return "", err
	}
	return cm.Data[key], nil
}

// TestFleetArtifactGenerator: the fleet syncs in order from the two
// ExternalArtifacts; a commit touching apps/ only re-applies apps, and
// infrastructure's artifact and applied revision stay as they were.
func TestFleetArtifactGenerator(t *testing.T) {
	ctx := context.Background()
	charts := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	for _, name := range []string{"ingress-nginx", "podinfo"} {
		if err := charts.AddChart(name, map[string]string{"ingress-nginx": "4.11.0", "podinfo": "6.0.0"}[name], nil); err != nil {
			t.Fatal(err)
		}
	}
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	pushOCIChart(t, charts, "podinfo", "6.0.0", reg.Host()+"/charts/podinfo:6.0.0")
	subst := strings.NewReplacer("{{HELM_REPO}}", charts.URL(), "{{REGISTRY}}", reg.Host())
	files := map[string]string{}
	for p, c := range fleetRepo {
		files[p] = subst.Replace(c)
	}
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	first, err := srv.CommitFiles("fleet", "main", files, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	testenv.ApplyYAML(ctx, t, env.Client, fmt.Sprintf(bootstrap, srv.URL("fleet")))

	for _, name := range []string{"flux-system", "infra-controllers", "infra-configs", "apps"} {
		testenv.Eventually(t, 2*time.Minute, "Kustomization "+name+" ready", func() error {
			return testenv.ReadyStatus(ctx, env.Client, kustomization(name))
		})
	}
	for _, hr := range []*helmv2.HelmRelease{helmRelease("ingress-nginx", "ingress-nginx"), helmRelease("podinfo", "podinfo")} {
		testenv.Eventually(t, time.Minute, "HelmRelease "+hr.Name+" ready", func() error {
			return testenv.ReadyStatus(ctx, env.Client, hr)
		})
	}
	testenv.Eventually(t, 30*time.Second, "podinfo released", func() error {
		return expectData(ctx, "podinfo", "podinfo-podinfo", "message", "replicas=1")
	})
	if err := expectData(ctx, "ingress-nginx", "ingress-nginx-ingress-nginx", "message", "controller"); err != nil {
		t.Fatalf("ingress-nginx not released: %v", err)
	}
	if _, err := configMapData(ctx, "ingress-nginx", "cluster-issuers", "issuer"); err != nil {
		t.Fatalf("configs not applied: %v", err)
	}
	apps, infra := kustomization("apps"), kustomization("infra-controllers")
	for _, ks := range []*kustomizev1.Kustomization{apps, infra} {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ks), ks); err != nil {
			t.Fatal(err)
		}
		if ks.Status.LastAppliedOriginRevision != "main@sha1:"+first {
			t.Errorf("%s: origin revision %q, want the commit main@sha1:%s", ks.Name, ks.Status.LastAppliedOriginRevision, first)
		}
	}
	infraRevision := infra.Status.LastAppliedRevision
	appsRevision := apps.Status.LastAppliedRevision
	if infraRevision == appsRevision {
		t.Fatalf("infrastructure and apps share revision %s", infraRevision)
	}
	infraArtifact := &sourcev1.ExternalArtifact{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "infrastructure"}, infraArtifact); err != nil {
		t.Fatal(err)
	}

	// A commit touching apps/ only.
	second, err := srv.CommitFiles("fleet", "main", map[string]string{"apps/base/podinfo/release.yaml": subst.Replace(podinfoRelease("2"))}, "scale podinfo")
	if err != nil {
		t.Fatal(err)
	}
	repo := &sourcev1.GitRepository{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "flux-system"}, repo); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(repo.DeepCopy())
	repo.Annotations = map[string]string{"reconcile.fluxcd.io/requestedAt": time.Now().Format(time.RFC3339Nano)}
	if err := env.Client.Patch(ctx, repo, patch); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, "apps re-applied", func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(apps), apps); err != nil {
			return err
		}
		if apps.Status.LastAppliedOriginRevision != "main@sha1:"+second {
			return fmt.Errorf("apps at origin %q", apps.Status.LastAppliedOriginRevision)
		}
		return expectData(ctx, "podinfo", "podinfo-podinfo", "message", "replicas=2")
	})
	if apps.Status.LastAppliedRevision == appsRevision {
		t.Errorf("apps kept revision %s after its files changed", appsRevision)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(infra), infra); err != nil {
		t.Fatal(err)
	}
	if infra.Status.LastAppliedRevision != infraRevision || infra.Status.LastAppliedOriginRevision != "main@sha1:"+first {
		t.Errorf("infra-controllers moved to %s (origin %s) though infrastructure/ did not change",
			infra.Status.LastAppliedRevision, infra.Status.LastAppliedOriginRevision)
	}
	after := &sourcev1.ExternalArtifact{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(infraArtifact), after); err != nil {
		t.Fatal(err)
	}
	if after.Status.Artifact.Digest != infraArtifact.Status.Artifact.Digest || after.ResourceVersion != infraArtifact.ResourceVersion {
		t.Errorf("infrastructure artifact rewritten: %s → %s", infraArtifact.Status.Artifact.Digest, after.Status.Artifact.Digest)
	}
}
