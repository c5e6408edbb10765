package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	celhealth "gotk.dev/pkg/health"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/kustomize-controller/internal/inventory"
)

// maxDependencyDepth bounds the walk that looks for cycles.
const maxDependencyDepth = 64

// dependencies waits until every spec.dependsOn Kustomization is ready at
// its latest generation and revision, and stalls on a cycle, naming it.
func (run *kustomizationRun) dependencies(ctx context.Context, obj *kustomizev1.Kustomization) error {
	r := run.r
	if len(obj.Spec.DependsOn) == 0 {
		return nil
	}
	if cycle := r.findCycle(ctx, obj); cycle != "" {
		return reconcile.Stall(kustomizev1.DependencyNotReadyReason, "dependency cycle: %s; remove one of these dependsOn entries", cycle)
	}
	for i, d := range obj.Spec.DependsOn {
		ns := d.Namespace
		if ns == "" {
			ns = obj.Namespace
		}
		if err := reconcile.CrossNamespaceRef(r.NoCrossNamespaceRefs, obj.Namespace, fmt.Sprintf("spec.dependsOn[%d]", i), kustomizev1.KustomizationKind, ns, d.Name); err != nil {
			return err
		}
		var dep kustomizev1.Kustomization
		if err := r.allShards().Get(ctx, client.ObjectKey{Namespace: ns, Name: d.Name}, &dep); err != nil {
			if apierrors.IsNotFound(err) {
				return reconcile.Wait(r.RequeueDependency, kustomizev1.DependencyNotReadyReason, "%s", r.Shard.NotFound(fmt.Sprintf("dependency '%s/%s'", ns, d.Name)))
			}
			return reconcile.Retry(kustomizev1.DependencyNotReadyReason, "reading dependency '%s/%s': %v", ns, d.Name, err)
		}
		if x := run.readyExprs[i]; x != nil {
			if err := readyByExpr(x, obj, &dep); err != nil {
				return reconcile.Wait(r.RequeueDependency, kustomizev1.DependencyNotReadyReason, "dependency '%s/%s' is not ready: %s", ns, d.Name, err)
			}
			continue
		}
		if !dependencyReady(&dep) {
			return reconcile.Wait(r.RequeueDependency, kustomizev1.DependencyNotReadyReason, "dependency '%s/%s' is not ready%s", ns, d.Name, r.Shard.Elsewhere(dep.Labels))
		}
	}
	return nil
}

// readyByExpr evaluates a dependency's readyExpr, which replaces the
// built-in readiness check (as in Flux): nil when it is true.
func readyByExpr(x *celhealth.ReadyExpr, self, dep *kustomizev1.Kustomization) error {
	selfMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(self)
	if err != nil {
		return err
	}
	depMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(dep)
	if err != nil {
		return err
	}
	ok, err := x.Ready(selfMap, depMap)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("readyExpr %q is false", x)
	}
	return nil
}

// dependencyReady: Ready at the current generation, with the last
// attempted revision applied.
func dependencyReady(dep *kustomizev1.Kustomization) bool {
	return conditions.IsReady(dep) &&
		dep.Status.ObservedGeneration == dep.Generation &&
		dep.Status.LastAppliedRevision == dep.Status.LastAttemptedRevision
}

// findCycle follows dependsOn from obj and returns the cycle through obj
// ("ns/a -> ns/b -> ns/a"), or "" when there is none.
func (r *KustomizationReconciler) findCycle(ctx context.Context, obj *kustomizev1.Kustomization) string {
	start := obj.Namespace + "/" + obj.Name
	var walk func(ks *kustomizev1.Kustomization, path []string, seen map[string]bool) []string
	walk = func(ks *kustomizev1.Kustomization, path []string, seen map[string]bool) []string {
		if len(path) > maxDependencyDepth {
			return nil
		}
		for _, d := range ks.Spec.DependsOn {
			ns := d.Namespace
			if ns == "" {
				ns = ks.Namespace
			}
			key := ns + "/" + d.Name
			if key == start {
				return append(path, key)
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			var next kustomizev1.Kustomization
			if err := r.allShards().Get(ctx, client.ObjectKey{Namespace: ns, Name: d.Name}, &next); err != nil {
				continue
			}
			if c := walk(&next, append(path, key), seen); c != nil {
				return c
			}
		}
		return nil
	}
	if c := walk(obj, []string{start}, map[string]bool{start: true}); c != nil {
		return strings.Join(c, " -> ")
	}
	return ""
}

// finalize applies spec.deletionPolicy: MirrorPrune deletes the inventory
// when spec.prune is set, Delete always does, WaitForTermination also
// waits until the objects are gone, Orphan leaves them.
func (r *KustomizationReconciler) finalize(ctx context.Context, obj *kustomizev1.Kustomization) error {
	policy := obj.GetDeletionPolicy()
	if policy == kustomizev1.DeletionPolicyOrphan || (policy == kustomizev1.DeletionPolicyMirrorPrune && !obj.Spec.Prune) || obj.Spec.Suspend {
		return nil
	}
	entries, err := inventory.Entries(obj.Status.Inventory)
	if err != nil || len(entries) == 0 {
		return nil // nothing we can safely delete
	}
	target, _, err := r.target(ctx, obj)
	if err != nil {
		var e *reconcile.Error
		if obj.Spec.KubeConfig != nil && errors.As(err, &e) && e.Reason != kustomizev1.ReconciliationFailedReason {
			// The remote cluster cannot be reached any more (its kubeconfig
			// is gone or invalid): leave its objects, as Flux does.
			ctrl.LoggerFrom(ctx).Info("not deleting the inventory: the remote cluster's kubeconfig cannot be used", "reason", e.Reason, "message", e.Error())
			return nil
		}
		return err
	}
	run := &kustomizationRun{r: r, target: target}
	if _, _, err := run.manager().Prune(ctx, entries, run.applyOptions(obj)); err != nil {
		return reconcile.Retry(kustomizev1.PruneFailedReason, "deleting the inventory: %s", err)
	}
	if policy == kustomizev1.DeletionPolicyWaitForTermination {
		for _, e := range entries {
			u := e.Object()
			if err := target.Get(ctx, client.ObjectKeyFromObject(u), u); err == nil {
				return reconcile.Wait(2*time.Second, kustomizev1.PruneFailedReason, "waiting for %s to terminate", e)
			}
		}
	}
	return nil
}
