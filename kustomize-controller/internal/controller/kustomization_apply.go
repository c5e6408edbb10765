package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/kustomize"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/kustomize-controller/internal/apply"
	"gotk.dev/kustomize-controller/internal/health"
	"gotk.dev/kustomize-controller/internal/inventory"
)

// apply applies the built objects with server-side apply in stages and
// records the new inventory. Nothing is written when the preflight or a
// stage's dry-run fails.
func (run *kustomizationRun) apply(ctx context.Context, obj *kustomizev1.Kustomization) error {
	target, watcher, err := run.r.target(ctx, obj)
	if err != nil {
		return err
	}
	run.target, run.watcher = target, watcher
	opts := run.applyOptions(obj)
	opts.IgnoreFields = run.ignoreFields(obj)
	opts.SameInputs = sameInputs(ctx, obj, run.revision)
	m := run.manager()
	if run.watcher != nil {
		// Start watching the kinds about to be applied: once synced, the
		// watch cache tells which objects need no read or dry-run.
		built := make([]inventory.Entry, 0, len(run.objects))
		for _, u := range run.objects {
			built = append(built, inventory.FromObject(u))
		}
		run.watcher.Ensure(kinds(built))
		m.Lookup = func(u *unstructured.Unstructured) (bool, bool) {
			return run.watcher.Lookup(u.GroupVersionKind(), u.GetNamespace(), u.GetName())
		}
	}
	cs, err := m.Apply(ctx, run.objects, opts)
	if err != nil {
		return reconcile.Wait(obj.GetRetryInterval(), kustomizev1.ReconciliationFailedReason, "%s%s", impersonating(obj, run.r), err)
	}
	applied := make([]inventory.Entry, 0, len(run.objects))
	for _, u := range run.objects {
		if kustomize.Excluded(u) {
			continue
		}
		applied = append(applied, inventory.FromObject(u))
	}
	run.applied = applied
	if run.watcher != nil {
		// Watch what was applied, so drift is seen from now on.
		run.watcher.Ensure(kinds(applied))
	}
	if cs.Changed() {
		run.event(obj, corev1.EventTypeNormal, kustomizev1.ProgressingReason, cs.String())
	}
	return nil
}

// sameInputs reports whether this reconcile builds from the inputs of the
// last successful one: the same revision, the spec of a generation that
// was reconciled to Ready, and nothing read from outside the artifact.
func sameInputs(ctx context.Context, obj *kustomizev1.Kustomization, revision string) bool {
	return reconcile.WasReady(ctx) && obj.Status.ObservedGeneration == obj.Generation &&
		obj.Status.LastAppliedRevision == revision && obj.Status.Inventory != nil &&
		(obj.Spec.PostBuild == nil || len(obj.Spec.PostBuild.SubstituteFrom) == 0) && obj.Spec.Decryption == nil
}

// prune deletes what left the source (spec.prune) and stores the new
// inventory; it only runs after the apply succeeded.
func (run *kustomizationRun) prune(ctx context.Context, obj *kustomizev1.Kustomization) error {
	inv := run.applied
	defer func() { obj.Status.Inventory = inventory.New(inv) }()
	if !obj.Spec.Prune {
		return nil
	}
	old, err := inventory.Entries(obj.Status.Inventory)
	if err != nil {
		// A corrupt inventory cannot tell what to prune; prune nothing.
		return reconcile.Wait(obj.GetRetryInterval(), kustomizev1.PruneFailedReason, "status.inventory: %s", err)
	}
	stale := inventory.Stale(old, run.applied)
	if len(stale) == 0 {
		return nil
	}
	cs, failed, err := run.manager().Prune(ctx, stale, run.applyOptions(obj))
	inv = append(inv, failed...)
	if cs.Changed() {
		run.event(obj, corev1.EventTypeNormal, kustomizev1.ProgressingReason, cs.String())
	}
	if err != nil {
		return reconcile.Retry(kustomizev1.PruneFailedReason, "%s", err)
	}
	return nil
}

// health waits for the applied objects (spec.wait) and spec.healthChecks
// to become ready within spec.timeout and sets the Healthy condition.
func (run *kustomizationRun) health(ctx context.Context, obj *kustomizev1.Kustomization) error {
	var checks []inventory.Entry
	if obj.Spec.Wait {
		checks = append(checks, run.applied...)
	}
	for _, hc := range obj.Spec.HealthChecks {
		gv, err := schema.ParseGroupVersion(hc.APIVersion)
		if err != nil {
			return reconcile.Stall(kustomizev1.HealthCheckFailedReason, "healthChecks: invalid apiVersion %q for %s/%s", hc.APIVersion, hc.Kind, hc.Name)
		}
		ns := hc.Namespace
		if ns == "" {
			ns = obj.Namespace
		}
		checks = append(checks, inventory.Entry{Namespace: ns, Name: hc.Name, Group: gv.Group, Version: gv.Version, Kind: hc.Kind})
	}
	if len(checks) == 0 {
		conditions.Delete(obj, kustomizev1.HealthyCondition)
		return nil
	}
	start := time.Now()
	checker := &health.Checker{Client: run.target, PollInterval: run.r.HealthPollInterval, Exprs: run.exprs,
		Canceled: func(ctx context.Context) (string, bool) {
			// A new revision makes this wait moot: stop and apply it.
			art, err := run.r.sourceArtifact(ctx, obj)
			if err != nil || art.Revision == run.revision {
				return "", false
			}
			return "new revision " + art.Revision + " is available", true
		}}
	if err := checker.Wait(ctx, checks, obj.GetTimeout()); err != nil {
		if errors.Is(err, health.ErrCanceled) {
			conditions.MarkUnknown(obj, kustomizev1.HealthyCondition, kustomizev1.HealthCheckCanceledReason, "%s", err)
			return reconcile.Wait(time.Millisecond, kustomizev1.HealthCheckCanceledReason, "%s", err)
		}
		conditions.MarkFalse(obj, kustomizev1.HealthyCondition, kustomizev1.HealthCheckFailedReason, "%s", err)
		return reconcile.Wait(obj.GetRetryInterval(), kustomizev1.HealthCheckFailedReason, "%s", err)
	}
	conditions.MarkTrue(obj, kustomizev1.HealthyCondition, kustomizev1.ReconciliationSucceededReason,
		"Health check passed in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

func (run *kustomizationRun) manager() *apply.Manager {
	m := &apply.Manager{Client: run.target, FieldManager: FieldManager, Concurrency: run.r.ConcurrentSSA, CustomStageKinds: run.r.CustomStageKinds}
	if run.target == run.r.Client {
		// Impersonated applies read namespaces with their own rights.
		m.NamespaceReader = run.r.Client
	}
	return m
}

func (run *kustomizationRun) applyOptions(obj *kustomizev1.Kustomization) apply.Options {
	return apply.Options{
		Force:          obj.Spec.Force,
		OwnerName:      obj.Name,
		OwnerNamespace: obj.Namespace,
		OwnerExists: func(ctx context.Context, ns, name string) bool {
			err := run.r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &kustomizev1.Kustomization{})
			return !apierrors.IsNotFound(err)
		},
	}
}

// event posts a news event carrying the revision, as Flux's do.
func (run *kustomizationRun) event(obj *kustomizev1.Kustomization, eventType, reason, msg string) {
	if run.r.Events == nil {
		return
	}
	meta := map[string]string{kustomizev1.GroupVersion.Group + "/revision": run.revision}
	if run.originRevision != "" {
		meta[kustomizev1.GroupVersion.Group+"/originRevision"] = run.originRevision
	}
	run.r.Events.AnnotatedEventf(obj, nil, meta, eventType, reason, "Reconcile", "%s", msg)
}

// recordHistory keeps the last reconciles per artifact digest and status.
func (run *kustomizationRun) recordHistory(obj *kustomizev1.Kustomization, err error) {
	if run.digest == "" {
		return
	}
	status := kustomizev1.ReconciliationSucceededReason
	if err != nil {
		status = reconcile.Classify(err, kustomizev1.ReconciliationFailedReason).Reason
	}
	obj.Status.History.Upsert(run.digest, time.Now(), time.Since(run.start), status,
		map[string]string{"revision": run.revision})
}

// targetClient returns the client objects are applied with: the
// controller's own, or one impersonating spec.serviceAccountName (or
// --default-service-account) so tenants get only their RBAC.
func (r *KustomizationReconciler) targetClient(obj *kustomizev1.Kustomization) (client.Client, error) {
	sa := serviceAccount(obj, r)
	if sa == "" || r.Config == nil {
		return r.Client, nil
	}
	cfg := rest.CopyConfig(r.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: fmt.Sprintf("system:serviceaccount:%s:%s", obj.Namespace, sa)}
	c, err := client.New(cfg, client.Options{Scheme: r.Client.Scheme(), Mapper: r.Client.RESTMapper()})
	if err != nil {
		return nil, fmt.Errorf("impersonating service account %s/%s: %w", obj.Namespace, sa, err)
	}
	return c, nil
}

func serviceAccount(obj *kustomizev1.Kustomization, r *KustomizationReconciler) string {
	if obj.Spec.ServiceAccountName != "" {
		return obj.Spec.ServiceAccountName
	}
	return r.DefaultServiceAccount
}

func impersonating(obj *kustomizev1.Kustomization, r *KustomizationReconciler) string {
	if obj.Spec.KubeConfig != nil {
		if sa := obj.Spec.ServiceAccountName; sa != "" {
			return fmt.Sprintf("as service account %s/%s in the remote cluster: ", obj.Namespace, sa)
		}
		return "in the remote cluster: "
	}
	if sa := serviceAccount(obj, r); sa != "" && r.Config != nil {
		return fmt.Sprintf("as service account %s/%s: ", obj.Namespace, sa)
	}
	return ""
}
