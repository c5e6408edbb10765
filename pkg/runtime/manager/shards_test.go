package manager

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/pkg/apis"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testenv"
)

// TestShardingCacheSelectsOwnKindsOnly: with --watch-label-selector the
// cache holds the controller's own kinds of its shard only, every object
// of the other kinds, and AllShards reads own kinds of every shard.
func TestShardingCacheSelectsOwnKindsOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := testenv.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()

	shard := map[string]string{apis.ShardKeyLabel: "shard1"}
	spec := sourcev1.GitRepositorySpec{URL: "https://example.com/repo.git", Interval: metav1.Duration{Duration: time.Hour}}
	objs := []client.Object{
		&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "in-shard", Namespace: "default", Labels: shard}, Spec: spec},
		&sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "main", Namespace: "default"}, Spec: spec},
		&kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: "main", Namespace: "default"}, Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: time.Hour}, Prune: true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "main"}}},
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	o := Options{Concurrent: 1, WatchAllNamespaces: true, WatchLabelSelector: apis.ShardKeyLabel + "=shard1",
		MetricsAddr: "0", HealthAddr: "0", Kinds: []client.Object{&sourcev1.GitRepository{}}, config: env.Config}
	o.RateLimiter.MinRetryDelay, o.RateLimiter.MaxRetryDelay = time.Second, time.Minute
	c, err := New("source-controller", env.Scheme, o)
	if err != nil {
		t.Fatal(err)
	}
	mgrCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Manager.Start(mgrCtx) }()
	defer func() { stop(); <-done }()
	if !c.Manager.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}

	cached := c.Manager.GetClient()
	tests := []struct {
		name   string
		reader client.Reader
		obj    client.Object
		found  bool
	}{
		{"own kind in the shard", cached, &sourcev1.GitRepository{}, true},
		{"own kind outside the shard", cached, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "main"}}, false},
		{"other kind without the label", cached, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Name: "main"}}, true},
		{"AllShards: own kind outside the shard", c.AllShards, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "main"}}, true},
		{"AllShards: missing object", c.AllShards, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Name: "absent"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.obj.GetName()
			if name == "" {
				name = "in-shard"
			}
			// A first cached read of a kind waits for its informer to sync.
			err := tt.reader.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, tt.obj)
			switch {
			case tt.found && err != nil:
				t.Fatalf("want %s found, got %v", name, err)
			case !tt.found && !apierrors.IsNotFound(err):
				t.Fatalf("want %s not found, got %v", name, err)
			}
		})
	}

	var list sourcev1.GitRepositoryList
	if err := c.AllShards.List(ctx, &list, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("AllShards lists %d GitRepositories, want both shards' 2", len(list.Items))
	}
	if err := cached.List(ctx, &list, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "in-shard" {
		t.Fatalf("the cache lists %d GitRepositories, want only in-shard", len(list.Items))
	}
}

// TestShardingNeedsKinds: a selector on a controller that names no kinds
// is refused rather than silently filtering nothing.
func TestShardingNeedsKinds(t *testing.T) {
	err := shardCache(nil, "sharding.fluxcd.io/key=a", nil)
	if err == nil {
		t.Fatal("want an error")
	}
}
