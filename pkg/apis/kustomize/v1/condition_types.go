package v1

import "github.com/fluxcd/pkg/apis/meta"

// Condition types a Kustomization reports besides Ready, Reconciling and
// Stalled.
const (
	// HealthyCondition reports the result of the last health assessment of
	// the applied objects.
	HealthyCondition string = meta.HealthyCondition
)

// Reasons used in the conditions of a Kustomization.
const (
	// ReconciliationSucceededReason says the revision was built, applied and,
	// when asked for, found healthy.
	ReconciliationSucceededReason string = meta.ReconciliationSucceededReason

	// ReconciliationFailedReason says the reconciliation failed for a reason
	// not covered by a more specific one.
	ReconciliationFailedReason string = meta.ReconciliationFailedReason

	// ArtifactFailedReason says the source artifact could not be fetched or
	// verified.
	ArtifactFailedReason string = meta.ArtifactFailedReason

	// BuildFailedReason says kustomize build, substitution or decryption of
	// the manifests failed.
	BuildFailedReason string = meta.BuildFailedReason

	// HealthCheckFailedReason says at least one applied object did not become
	// healthy within the timeout.
	HealthCheckFailedReason string = meta.HealthCheckFailedReason

	// HealthCheckCanceledReason says the health assessment was interrupted,
	// e.g. because a new revision arrived.
	HealthCheckCanceledReason string = meta.HealthCheckCanceledReason

	// DependencyNotReadyReason says an object listed in dependsOn is not ready.
	DependencyNotReadyReason string = meta.DependencyNotReadyReason

	// PruneFailedReason says deleting objects that left the source failed.
	PruneFailedReason string = meta.PruneFailedReason

	// ProgressingReason says a reconciliation is under way.
	ProgressingReason string = meta.ProgressingReason

	// ProgressingWithRetryReason says a reconciliation is under way after a
	// failed attempt.
	ProgressingWithRetryReason string = meta.ProgressingWithRetryReason

	// InvalidCELExpressionReason says a CEL expression in the spec
	// (healthCheckExprs, dependsOn readyExpr) does not compile.
	InvalidCELExpressionReason string = meta.InvalidCELExpressionReason
)
