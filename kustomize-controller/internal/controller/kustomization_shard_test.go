package controller

import (
	"context"
	"errors"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/pkg/apis"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// TestShardReferenceMessages: a sharded controller names its
// --watch-label-selector when a source or dependsOn target is not found,
// and when a dependency that is not ready belongs to another shard; an
// unsharded one says what it always said.
func TestShardReferenceMessages(t *testing.T) {
	ns := env.NewNamespace(t)
	const shard1 = apis.ShardKeyLabel + "=shard1"
	// The suite's controller watches no shard, so this dependency of
	// shard2 stays not ready.
	newKustomization(t, ns, "in-shard2", "repo", func(ks *kustomizev1.Kustomization) {
		ks.Labels = map[string]string{apis.ShardKeyLabel: "shard2"}
	})

	for _, tc := range []struct {
		name      string
		shard     string
		sourceRef string
		dependsOn string
		wantMsg   string
	}{
		{name: "source missing, sharded", shard: shard1, sourceRef: "nope",
			wantMsg: "Source GitRepository/" + ns + "/nope not found (reconciled by the shard --watch-label-selector=" + shard1 + ")"},
		{name: "source missing, not sharded", sourceRef: "nope",
			wantMsg: "Source GitRepository/" + ns + "/nope not found"},
		{name: "dependency missing, sharded", shard: shard1, dependsOn: "nope",
			wantMsg: "dependency '" + ns + "/nope' not found (reconciled by the shard --watch-label-selector=" + shard1 + ")"},
		{name: "dependency in another shard, not ready", shard: shard1, dependsOn: "in-shard2",
			wantMsg: "dependency '" + ns + "/in-shard2' is not ready (it is outside this controller's shard --watch-label-selector=" + shard1 +
				": the instance whose shard selects it reconciles it)"},
		{name: "dependency in the main shard's view, not ready", shard: "!" + apis.ShardKeyLabel, dependsOn: "in-shard2",
			wantMsg: "is not ready (it is outside this controller's shard --watch-label-selector=!" + apis.ShardKeyLabel},
		{name: "dependency not ready, not sharded", dependsOn: "in-shard2",
			wantMsg: "dependency '" + ns + "/in-shard2' is not ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := newReconciler(env.Client, env.Client, nil)
			var err error
			r.Shard, err = reconcile.NewShard(tc.shard)
			g.Expect(err).NotTo(HaveOccurred())
			obj := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ks"}}
			rn := &kustomizationRun{r: r}
			if tc.sourceRef != "" {
				obj.Spec.SourceRef = kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: tc.sourceRef}
				err = rn.source(context.Background(), obj)
			} else {
				obj.Spec.DependsOn = []meta.DependencyReference{{Name: tc.dependsOn}}
				err = rn.dependencies(context.Background(), obj)
			}
			var e *reconcile.Error
			g.Expect(errors.As(err, &e)).To(BeTrue(), "error %v", err)
			g.Expect(e.Class).To(Equal(reconcile.Waiting))
			if tc.shard == "" {
				g.Expect(e.Error()).To(HaveSuffix(tc.wantMsg))
			} else {
				g.Expect(e.Error()).To(ContainSubstring(tc.wantMsg))
			}
		})
	}
}
