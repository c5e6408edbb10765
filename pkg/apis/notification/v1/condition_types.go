package v1

// NotificationFinalizer is the finalizer of the notification controller.
const NotificationFinalizer = "finalizers.fluxcd.io"

// Reasons used by Receiver conditions.
const (
	// InitializedReason means the Receiver is ready and its webhook path
	// is published.
	InitializedReason string = "Initialized"

	// ValidationFailedReason means part of the spec could not be validated.
	ValidationFailedReason string = "ValidationFailed"

	// TokenNotFoundReason means the Secret or its `token` key is missing.
	TokenNotFoundReason string = "TokenNotFound"

	// InvalidConfigReason means part of the spec cannot be used, e.g. an
	// OIDC provider that cannot be discovered.
	InvalidConfigReason string = "InvalidConfig"
)
