package v1beta3

// NotificationFinalizer is the finalizer of the notification controller.
const NotificationFinalizer = "finalizers.fluxcd.io"

// Reasons the event server uses in the Kubernetes events and logs it emits
// about Alerts and Providers (these kinds have no status conditions).
const (
	// InvalidConfigReason means part of an Alert or Provider cannot be used,
	// e.g. an invalid inclusion regex or a missing Secret key.
	InvalidConfigReason string = "InvalidConfig"

	// NotificationDispatchFailedReason means sending a notification to a
	// Provider failed.
	NotificationDispatchFailedReason string = "NotificationDispatchFailed"

	// SourceFetchFailedReason means the object involved in an event could not
	// be read to evaluate an event source's matchLabels.
	SourceFetchFailedReason string = "SourceFetchFailed"

	// MetadataAppendFailedReason means the event metadata and the Alert's
	// eventMetadata could not be merged because their keys clash.
	MetadataAppendFailedReason string = "MetadataAppendFailed"
)
