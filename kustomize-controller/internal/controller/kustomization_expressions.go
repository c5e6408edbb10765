package controller

import (
	"context"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	celhealth "gotk.dev/pkg/health"
	"gotk.dev/pkg/runtime/reconcile"
)

// compileExpressions compiles the CEL expressions of
// spec.healthCheckExprs and spec.dependsOn[].readyExpr for the later
// steps, and stalls on one that does not compile, before anything is
// applied.
func (run *kustomizationRun) compileExpressions(_ context.Context, obj *kustomizev1.Kustomization) error {
	exprs, err := celhealth.CompileExprs(obj.Spec.HealthCheckExprs)
	if err != nil {
		return reconcile.Stall(kustomizev1.InvalidCELExpressionReason, "%s", err)
	}
	run.exprs = exprs
	for i, d := range obj.Spec.DependsOn {
		if d.ReadyExpr == "" {
			continue
		}
		x, err := celhealth.CompileReadyExpr(d.ReadyExpr)
		if err != nil {
			return reconcile.Stall(kustomizev1.InvalidCELExpressionReason, "dependsOn[%d] (%s): %s", i, d.Name, err)
		}
		if run.readyExprs == nil {
			run.readyExprs = map[int]*celhealth.ReadyExpr{}
		}
		run.readyExprs[i] = x
	}
	return nil
}
