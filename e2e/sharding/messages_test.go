package sharding

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/apis"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// TestShardingReferenceMessages: a reference a shard cannot satisfy says
// which shard the controller is: shard1's source-controller cannot see
// the main shard's HelmRepository its HelmChart names, and shard2's
// kustomize-controller waits on a dependency labelled for a shard no
// instance runs.
func TestShardingReferenceMessages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := env.NewNamespace(t)
	applyYAML(ctx, t, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts-main, namespace: %[1]s}
spec: {interval: 1h, url: "http://127.0.0.1:9/charts"}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: chart-shard1, namespace: %[1]s, labels: {%[2]s: shard1}}
spec: {interval: 1h, chart: podinfo, version: "*", sourceRef: {kind: HelmRepository, name: charts-main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ks-shard3, namespace: %[1]s, labels: {%[2]s: shard3}}
spec: {interval: 1h, path: ./, prune: true, sourceRef: {kind: GitRepository, name: none}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ks-shard2, namespace: %[1]s, labels: {%[2]s: shard2}}
spec: {interval: 1h, path: ./, prune: true, sourceRef: {kind: GitRepository, name: none}, dependsOn: [{name: ks-shard3}]}
`, p, apis.ShardKeyLabel))

	for _, tc := range []struct {
		obj interface {
			client.Object
			conditions.Getter
		}
		name, want string
	}{
		{obj: &sourcev1.HelmChart{}, name: "chart-shard1",
			want: "HelmRepository 'charts-main' not found in this controller's shard (--watch-label-selector=" + selector("shard1") + ")"},
		{obj: &kustomizev1.Kustomization{}, name: "ks-shard2",
			want: "dependency '" + p + "/ks-shard3' is not ready (it is outside this controller's shard --watch-label-selector=" + selector("shard2")},
	} {
		eventually(t, time.Minute, tc.name+" names its shard", func() error {
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: p, Name: tc.name}, tc.obj); err != nil {
				return err
			}
			if msg := conditions.GetMessage(tc.obj, meta.ReadyCondition); !strings.Contains(msg, tc.want) {
				return fmt.Errorf("Ready: %q", msg)
			}
			return nil
		})
	}
}
