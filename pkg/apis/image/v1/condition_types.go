package v1

// ImageFinalizer is the finalizer the image controllers put on their objects.
const ImageFinalizer = "finalizers.fluxcd.io"

// Reasons used by ImageRepository and ImagePolicy conditions.
const (
	// ImageURLInvalidReason means spec.image could not be parsed as an image
	// repository reference.
	ImageURLInvalidReason string = "ImageURLInvalid"

	// DependencyNotReadyReason means an object this one depends on (for an
	// ImagePolicy, its ImageRepository) is not ready yet.
	DependencyNotReadyReason string = "DependencyNotReady"

	// AuthenticationFailedReason means the registry credentials are missing,
	// malformed or rejected.
	AuthenticationFailedReason string = "AuthenticationFailed"

	// ReadOperationFailedReason means reading from the registry or from the
	// tag database failed.
	ReadOperationFailedReason string = "ReadOperationFailed"

	// IntervalNotConfiguredReason means an interval is needed but not set.
	IntervalNotConfiguredReason string = "IntervalNotConfigured"

	// InvalidPolicyReason means the ImagePolicy spec (policy, semver range or
	// tag filter) cannot be used.
	InvalidPolicyReason string = "InvalidPolicy"
)

// Reasons used by ImageUpdateAutomation conditions.
const (
	// InvalidUpdateStrategyReason means spec.update names an unusable strategy.
	InvalidUpdateStrategyReason string = "InvalidUpdateStrategy"

	// InvalidSourceConfigReason means the source reference or the git
	// settings cannot be used.
	InvalidSourceConfigReason string = "InvalidSourceConfiguration"

	// SourceManagerFailedReason means preparing the source for an update
	// (fetching, checking out) failed.
	SourceManagerFailedReason string = "SourceManagerFailed"

	// GitOperationFailedReason means a Git clone, commit or push failed.
	GitOperationFailedReason string = "GitOperationFailed"

	// UpdateFailedReason means rewriting the files in the checkout failed.
	UpdateFailedReason string = "UpdateFailed"

	// InvalidPolicySelectorReason means spec.policySelector is not a valid
	// label selector.
	InvalidPolicySelectorReason string = "InvalidPolicySelector"

	// RemovedTemplateFieldReason means the commit message template uses a
	// template field that no longer exists.
	RemovedTemplateFieldReason string = "RemovedTemplateField"
)
