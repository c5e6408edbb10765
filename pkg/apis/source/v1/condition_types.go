package v1

// SourceFinalizer is the finalizer the source controller puts on its objects.
const SourceFinalizer = "finalizers.fluxcd.io"

// Condition types of the source kinds. ArtifactInStorage and SourceVerified
// have positive polarity; the others are present only while True.
const (
	// ArtifactInStorageCondition tells whether the artifact in the status
	// exists in storage.
	ArtifactInStorageCondition string = "ArtifactInStorage"

	// ArtifactOutdatedCondition is True when the stored artifact no longer
	// matches the spec or the upstream source and a new one must be built.
	ArtifactOutdatedCondition string = "ArtifactOutdated"

	// SourceVerifiedCondition tells whether the upstream source passed
	// signature verification.
	SourceVerifiedCondition string = "SourceVerified"

	// FetchFailedCondition is True when fetching from the upstream source
	// failed.
	FetchFailedCondition string = "FetchFailed"

	// BuildFailedCondition is True when building the artifact from the
	// fetched content failed.
	BuildFailedCondition string = "BuildFailed"

	// StorageOperationFailedCondition is True when an operation on the
	// artifact storage failed.
	StorageOperationFailedCondition string = "StorageOperationFailed"

	// IncludeUnavailableCondition is True when an artifact included by a
	// GitRepository is not available.
	IncludeUnavailableCondition string = "IncludeUnavailable"
)

// Condition reasons of the source kinds.
const (
	// URLInvalidReason means the URL in the spec could not be used.
	URLInvalidReason string = "URLInvalid"

	// AuthenticationFailedReason means the credentials could not be read or
	// were refused.
	AuthenticationFailedReason string = "AuthenticationFailed"

	// VerificationError means signature verification failed.
	VerificationError string = "VerificationError"

	// DirCreationFailedReason means a storage directory could not be created.
	DirCreationFailedReason string = "DirectoryCreationFailed"

	// StatOperationFailedReason means a file in storage could not be stat'ed.
	StatOperationFailedReason string = "StatOperationFailed"

	// ReadOperationFailedReason means a file could not be read.
	ReadOperationFailedReason string = "ReadOperationFailed"

	// AcquireLockFailedReason means the storage lock could not be taken.
	AcquireLockFailedReason string = "AcquireLockFailed"

	// InvalidPathReason means a path in the spec or the content is not valid.
	InvalidPathReason string = "InvalidPath"

	// ArchiveOperationFailedReason means packing the artifact failed.
	ArchiveOperationFailedReason string = "ArchiveOperationFailed"

	// SymlinkUpdateFailedReason means the "latest" link in storage could not
	// be updated.
	SymlinkUpdateFailedReason string = "SymlinkUpdateFailed"

	// ArtifactUpToDateReason means the stored artifact already matches the
	// upstream revision.
	ArtifactUpToDateReason string = "ArtifactUpToDate"

	// CacheOperationFailedReason means a cache operation failed.
	CacheOperationFailedReason string = "CacheOperationFailed"

	// PatchOperationFailedReason means patching the object failed.
	PatchOperationFailedReason string = "PatchOperationFailed"

	// InvalidSTSConfigurationReason means the Bucket STS settings are not
	// usable.
	InvalidSTSConfigurationReason string = "InvalidSTSConfiguration"

	// InvalidProviderConfigurationReason means the provider settings are not
	// usable.
	InvalidProviderConfigurationReason string = "InvalidProviderConfiguration"

	// GitOperationSucceedReason means a Git operation succeeded.
	GitOperationSucceedReason string = "GitOperationSucceeded"

	// GitOperationFailedReason means a Git operation failed.
	GitOperationFailedReason string = "GitOperationFailed"

	// OCIPullFailedReason means pulling an OCI artifact failed.
	OCIPullFailedReason string = "OCIArtifactPullFailed"

	// OCILayerOperationFailedReason means processing the selected OCI layer
	// failed.
	OCILayerOperationFailedReason string = "OCIArtifactLayerOperationFailed"

	// IndexationFailedReason means the Helm repository index could not be
	// fetched or loaded.
	IndexationFailedReason string = "IndexationFailed"

	// IndexationSucceededReason means the Helm repository index was fetched
	// and loaded.
	IndexationSucceededReason string = "IndexationSucceed"

	// ChartPullSucceededReason means the chart was pulled from a Helm
	// repository.
	ChartPullSucceededReason string = "ChartPullSucceeded"

	// ChartPackageSucceededReason means the chart was packaged from a
	// source artifact.
	ChartPackageSucceededReason string = "ChartPackageSucceeded"

	// BucketOperationSucceededReason means a bucket operation succeeded.
	BucketOperationSucceededReason string = "BucketOperationSucceeded"

	// BucketOperationFailedReason means a bucket operation failed.
	BucketOperationFailedReason string = "BucketOperationFailed"
)
