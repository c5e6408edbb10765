package leaderelection

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/manager"
	"gotk.dev/pkg/testserver"
)

// BenchmarkLeaderTakeover measures, on two source-controller processes
// with the short lease flags, the time from SIGKILL of the leader to the
// first reconcile by the new leader (a reconcile request made right after
// the kill being handled). The figure is dominated by the lease duration
// (4s here, 35s by default): a standby takes the Lease only once it has
// seen it go unrenewed for that long, checking every retry period; the
// new leader's cache sync and reconcile add little.
func BenchmarkLeaderTakeover(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	git := testserver.NewGitHTTPForTest(b, testserver.GitHTTPOptions{})
	if _, err := git.CommitFiles("app", "main", map[string]string{"cm.yaml": "kind: ConfigMap\n"}, "app"); err != nil {
		b.Fatal(err)
	}
	reps, err := startReplicas(ctx, "source-controller", 2, shardSelector)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(reps.Stop)
	p := &pair{reps: reps, ns: env.NewNamespace(b), lease: manager.LeaderElectionID("source-controller", shardSelector)}
	applyYAML(ctx, b, fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: app, namespace: %s, labels: {%s: shard1}}
spec: {interval: 1h, url: %q, ref: {branch: main}}
`, p.ns, shardLabel, git.URL("app")))
	repo := &sourcev1.GitRepository{}
	repo.Namespace, repo.Name = p.ns, "app"
	eventually(b, reps, time.Minute, "first reconcile", func() error { return hasArtifact(ctx, repo) })

	var total time.Duration
	for b.Loop() {
		leader := p.waitLeader(b, "a leader")
		killed := time.Now()
		if err := reps.Kill(leader); err != nil {
			b.Fatal(err)
		}
		token := killed.Format(time.RFC3339Nano)
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{meta.ReconcileRequestAnnotation: token}}})
		if err := env.Client.Patch(ctx, repo, client.RawPatch(types.MergePatchType, patch)); err != nil {
			b.Fatal(err)
		}
		eventually(b, reps, time.Minute, "reconciled by the new leader", func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
				return err
			}
			if repo.Status.LastHandledReconcileAt != token {
				return fmt.Errorf("last handled %q", repo.Status.LastHandledReconcileAt)
			}
			return nil
		})
		total += time.Since(killed)
		// The killed replica comes back as the next standby.
		b.StopTimer()
		if err := reps.Start(leader); err != nil {
			b.Fatal(err)
		}
		if err := reps.WaitHealthy(ctx, time.Minute); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "takeover-s")
}
