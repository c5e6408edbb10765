package sharding

import (
	"context"
	"fmt"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/apis"
	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/manager"
	"gotk.dev/pkg/testserver"
)

// TestShardingLeases: every instance elects a leader on a Lease of its
// own, named after its selector as Flux names it.
func TestShardingLeases(t *testing.T) {
	ctx := context.Background()
	for _, l := range layout {
		for _, shard := range l.shards {
			name := manager.LeaderElectionID(l.controller, selector(shard))
			eventually(t, 30*time.Second, "Lease "+name, func() error {
				lease := &coordinationv1.Lease{}
				if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, lease); err != nil {
					return err
				}
				if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
					return fmt.Errorf("no holder")
				}
				return nil
			})
		}
	}
}

// TestShardingKustomizationsAndSources: GitRepositories and
// Kustomizations spread over shards, with a source and dependsOn chain
// crossing them, are all reconciled, each by the instance of its shard
// only.
func TestShardingKustomizationsAndSources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	git := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	files := map[string]string{}
	for _, dir := range []string{"a", "b", "c"} {
		files[dir+"/cm.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {by: kustomize}\n", dir)
	}
	if _, err := git.CommitFiles("app", "main", files, "three apps"); err != nil {
		t.Fatal(err)
	}
	p := env.NewNamespace(t)
	// ks-shard1 (shard1) uses the main shard's source; ks-shard2 (shard2)
	// uses shard1's source and depends on ks-shard1; ks-main depends on
	// ks-shard2.
	applyYAML(ctx, t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: repo-main, namespace: %[1]s}
spec: {interval: 1h, url: %[2]q, ref: {branch: main}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: repo-shard1, namespace: %[1]s, labels: {%[3]s: shard1}}
spec: {interval: 1h, url: %[2]q, ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ks-shard1, namespace: %[1]s, labels: {%[3]s: shard1}}
spec: {interval: 1h, path: ./a, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: repo-main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ks-shard2, namespace: %[1]s, labels: {%[3]s: shard2}}
spec: {interval: 1h, path: ./b, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: repo-shard1},
  dependsOn: [{name: ks-shard1}]}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ks-main, namespace: %[1]s}
spec: {interval: 1h, path: ./c, prune: true, targetNamespace: %[1]s, sourceRef: {kind: GitRepository, name: repo-main},
  dependsOn: [{name: ks-shard2}]}
`, p, git.URL("app"), apis.ShardKeyLabel))

	for _, name := range []string{"ks-shard1", "ks-shard2", "ks-main"} {
		ks := &kustomizev1.Kustomization{}
		ks.Namespace, ks.Name = p, name
		eventually(t, 90*time.Second, name+" ready", func() error { return ready(ctx, ks) })
	}
	for _, cm := range []string{"a", "b", "c"} {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: p, Name: cm}, &corev1.ConfigMap{}); err != nil {
			t.Errorf("ConfigMap %s: %v", cm, err)
		}
	}
	owners := []struct{ controller, owner, kind, name string }{
		{"source-controller", "source-controller", sourcev1.GitRepositoryKind, "repo-main"},
		{"source-controller", "source-controller-shard1", sourcev1.GitRepositoryKind, "repo-shard1"},
		{"kustomize-controller", "kustomize-controller-shard1", kustomizev1.KustomizationKind, "ks-shard1"},
		{"kustomize-controller", "kustomize-controller-shard2", kustomizev1.KustomizationKind, "ks-shard2"},
		{"kustomize-controller", "kustomize-controller", kustomizev1.KustomizationKind, "ks-main"},
	}
	for _, o := range owners {
		eventually(t, 10*time.Second, o.kind+" "+o.name, func() error {
			return reconciledOnlyBy(o.controller, o.owner, o.kind, p, o.name)
		})
	}
}

// TestShardingHelmReleaseChart: a HelmRelease of shard1 generates a
// HelmChart labelled shard1, which shard1's source-controller builds; a
// main-shard release's chart stays with the main source-controller; the
// shard1 release depends on the main one across shards.
func TestShardingHelmReleaseChart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	charts := testserver.NewHelmRepoForTest(t, testserver.HelmRepoOptions{})
	if err := charts.AddChart("podinfo", "1.0.0", nil); err != nil {
		t.Fatal(err)
	}
	p := env.NewNamespace(t)
	// A HelmChart's source must be in the chart's shard: source-controller
	// builds it from the repository index in its own storage.
	applyYAML(ctx, t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts-main, namespace: %[1]s}
spec: {interval: 1h, url: %[2]q}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts-shard1, namespace: %[1]s, labels: {%[3]s: shard1}}
spec: {interval: 1h, url: %[2]q}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app-main, namespace: %[1]s}
spec:
  interval: 1h
  chart: {spec: {chart: podinfo, version: "1.0.0", sourceRef: {kind: HelmRepository, name: charts-main}}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app-shard1, namespace: %[1]s, labels: {%[3]s: shard1}}
spec:
  interval: 1h
  dependsOn: [{name: app-main}]
  chart: {spec: {chart: podinfo, version: "1.0.0", sourceRef: {kind: HelmRepository, name: charts-shard1}}}
`, p, charts.URL(), apis.ShardKeyLabel))

	for _, name := range []string{"app-main", "app-shard1"} {
		hr := &helmv2.HelmRelease{}
		hr.Namespace, hr.Name = p, name
		eventually(t, 90*time.Second, name+" ready", func() error { return ready(ctx, hr) })
	}
	hc := &sourcev1.HelmChart{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: p, Name: p + "-app-shard1"}, hc); err != nil {
		t.Fatal(err)
	}
	if got := hc.Labels[apis.ShardKeyLabel]; got != "shard1" {
		t.Errorf("HelmChart %s: %s label %q, want shard1", hc.Name, apis.ShardKeyLabel, got)
	}
	owners := []struct{ controller, owner, kind, name string }{
		{"source-controller", "source-controller", sourcev1.HelmRepositoryKind, "charts-main"},
		{"source-controller", "source-controller-shard1", sourcev1.HelmRepositoryKind, "charts-shard1"},
		{"source-controller", "source-controller", sourcev1.HelmChartKind, p + "-app-main"},
		{"source-controller", "source-controller-shard1", sourcev1.HelmChartKind, p + "-app-shard1"},
		{"helm-controller", "helm-controller", helmv2.HelmReleaseKind, "app-main"},
		{"helm-controller", "helm-controller-shard1", helmv2.HelmReleaseKind, "app-shard1"},
	}
	for _, o := range owners {
		eventually(t, 10*time.Second, o.kind+" "+o.name, func() error {
			return reconciledOnlyBy(o.controller, o.owner, o.kind, p, o.name)
		})
	}
}
