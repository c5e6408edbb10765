package controller

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	celhealth "gotk.dev/pkg/health"
	"gotk.dev/pkg/kustomize"
	"gotk.dev/pkg/runtime/reconcile"

	"gotk.dev/kustomize-controller/internal/drift"
	"gotk.dev/kustomize-controller/internal/inventory"
)

// kustomizationRun carries what one Kustomization reconcile has observed
// from step to step.
type kustomizationRun struct {
	r     *KustomizationReconciler
	start time.Time

	revision, originRevision, digest string
	files                            *kustomize.Files
	objects                          []*unstructured.Unstructured
	// applied is the new inventory: every object the apply manages.
	applied []inventory.Entry
	// target is the client of the cluster objects are applied to.
	target client.Client
	// watcher sees drift in that cluster (nil: no drift watch).
	watcher *drift.Watcher
	// exprs are the compiled spec.healthCheckExprs.
	exprs map[schema.GroupKind]*celhealth.Expressions
	// readyExprs are the compiled spec.dependsOn[].readyExpr, by index.
	readyExprs map[int]*celhealth.ReadyExpr
}

// build runs kustomize over the artifact with post-build substitution,
// and labels every object with its owner. A failed build applies nothing.
func (run *kustomizationRun) build(ctx context.Context, obj *kustomizev1.Kustomization) error {
	dec, err := run.r.decryptor(ctx, obj)
	if err != nil {
		return err
	}
	opts := kustomize.OptionsFromSpec(&obj.Spec)
	opts.Decryptor = dec
	opts.AllowRemoteBases = run.r.AllowRemoteBases
	opts.Substitution, err = kustomize.PostBuildSubstitution(ctx, run.r.APIReader, obj.Namespace, obj.Spec.PostBuild, run.r.StrictSubstitution)
	if err != nil {
		return reconcile.Wait(obj.GetRetryInterval(), kustomizev1.BuildFailedReason, "%s", err)
	}
	objs, err := run.r.Builds.Build(run.files, run.digest, opts)
	if err != nil {
		if errors.Is(err, kustomize.ErrDecryption) {
			return reconcile.Wait(obj.GetRetryInterval(), DecryptionFailedReason, "%s", err)
		}
		return reconcile.Wait(obj.GetRetryInterval(), kustomizev1.BuildFailedReason, "%s", err)
	}
	for _, u := range objs {
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[kustomizev1.NameLabel] = obj.Name
		l[kustomizev1.NamespaceLabel] = obj.Namespace
		u.SetLabels(l)
	}
	run.objects = objs
	return nil
}
