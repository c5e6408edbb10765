package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/testenv"
)

// BenchmarkLargeKustomization applies one Kustomization of N ConfigMaps
// (N from -objects, default 5000) and reports the time of the first
// apply, then of a requested reconcile with nothing changed: its time,
// its writes to the objects (ConfigMaps whose resourceVersion moved:
// exact), the controller's API requests and dry-runs, and the longest
// event message the Kustomization got, and the API server's floor for
// the same objects measured in the same run (testenv.ApplyFloor).
func BenchmarkLargeKustomization(b *testing.B) {
	for _, n := range testenv.Sizes(b, "objects", *testenv.BenchObjects) {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				benchLarge(b, n)
			}
		})
	}
}

func benchLarge(b *testing.B, n int) {
	ctx := context.Background()
	ns := env.NewNamespace(b)
	var docs strings.Builder
	for i := range n {
		fmt.Fprintf(&docs, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  key: value-%d\n---\n", i, i)
	}
	newGitRepository(b, ns, "repo", publish(b, map[string]string{"app/all.yaml": docs.String()}))
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "large"},
		Spec: kustomizev1.KustomizationSpec{
			Interval: metav1.Duration{Duration: time.Hour}, Path: "app", Prune: true, TargetNamespace: ns,
			Timeout:   &metav1.Duration{Duration: 10 * time.Minute},
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"},
		},
	}
	start := time.Now()
	if err := env.Client.Create(ctx, ks); err != nil {
		b.Fatal(err)
	}
	awaitKustomization(b, ks, func(k *kustomizev1.Kustomization) bool {
		return conditions.IsReady(k) && k.Status.LastAppliedRevision != ""
	})
	first := time.Since(start)

	versions := func() map[string]string {
		var list corev1.ConfigMapList
		if err := env.Client.List(ctx, &list, client.InNamespace(ns), client.HasLabels{kustomizev1.NameLabel}); err != nil {
			b.Fatal(err)
		}
		out := make(map[string]string, len(list.Items))
		for _, cm := range list.Items {
			out[cm.Name] = cm.ResourceVersion
		}
		return out
	}
	before := versions()
	if len(before) != n {
		b.Fatalf("%d of %d ConfigMaps applied", len(before), n)
	}
	total0, _, dry0 := apiRequests.Snapshot()
	token := time.Now().Format(time.RFC3339Nano)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, token)
	start = time.Now()
	if err := env.Client.Patch(ctx, ks.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		b.Fatal(err)
	}
	awaitKustomization(b, ks, func(k *kustomizev1.Kustomization) bool {
		return k.Status.LastHandledReconcileAt == token && conditions.IsReady(k)
	})
	requested := time.Since(start)
	total, _, dry := apiRequests.Snapshot()
	written := 0
	for name, rv := range versions() {
		if before[name] != rv {
			written++
		}
	}
	b.ReportMetric(first.Seconds(), "s-first-apply")
	b.ReportMetric(requested.Seconds(), "s-requested-unchanged")
	b.ReportMetric(float64(written), "object-writes-requested")
	b.ReportMetric(float64(total-total0), "api-requests-requested")
	b.ReportMetric(float64(dry-dry0), "api-dry-runs-requested")
	b.ReportMetric(float64(longestEvent(b, ns)), "event-bytes-max")
	b.ReportMetric(largeFloor(b, n).Seconds(), "s-floor")
}

// largeFloor server-side applies the benchmark's n ConfigMaps (in a
// namespace of their own, no controller involved) and returns how long
// the API server took: the floor under the first apply.
func largeFloor(b *testing.B, n int) time.Duration {
	ns := env.NewNamespace(b)
	objs := make([]*unstructured.Unstructured, 0, n)
	for i := range n {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind("ConfigMap")
		u.SetNamespace(ns)
		u.SetName(fmt.Sprintf("cm-%d", i))
		u.Object["data"] = map[string]any{"key": fmt.Sprintf("value-%d", i)}
		objs = append(objs, u)
	}
	d, err := testenv.ApplyFloor(context.Background(), env.Config, client.Options{Scheme: env.Scheme}, objs, "floor")
	if err != nil {
		b.Fatalf("write floor: %v", err)
	}
	return d
}

// awaitKustomization polls ks until done holds (10 minutes at most).
func awaitKustomization(b *testing.B, ks *kustomizev1.Kustomization, done func(*kustomizev1.Kustomization) bool) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		cur := &kustomizev1.Kustomization{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(ks), cur); err == nil && done(cur) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("Kustomization %s not done after 10m: %+v", ks.Name, cur.Status.Conditions)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// longestEvent is the longest Kubernetes event message in ns.
func longestEvent(b *testing.B, ns string) int {
	var list corev1.EventList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	longest := 0
	for _, e := range list.Items {
		longest = max(longest, len(e.Message))
	}
	return longest
}
