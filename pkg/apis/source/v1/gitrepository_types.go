package v1

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Git authentication providers.
const (
	// GitProviderGeneric authenticates with the credentials in secretRef.
	GitProviderGeneric string = "generic"
	// GitProviderAzure authenticates to Azure DevOps with workload identity.
	GitProviderAzure string = "azure"
	// GitProviderGitHub authenticates as a GitHub App.
	GitProviderGitHub string = "github"
	// GitProviderAWS authenticates to AWS CodeCommit with Git credentials
	// signed from IAM credentials (the controller's or workload identity).
	GitProviderAWS string = "aws"
)

// DefaultGitTimeout is used when spec.timeout is not set.
const DefaultGitTimeout = 60 * time.Second

// GitRepositorySpec is the desired state of a GitRepository: which
// repository and reference to fetch, and how.
// +kubebuilder:validation:XValidation:rule="!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))",message="serviceAccountName can only be set when provider is 'azure' or 'aws'"
type GitRepositorySpec struct {
	// URL of the Git repository, over HTTP(S) or SSH.
	// +kubebuilder:validation:Pattern="^(http|https|ssh)://.*$"
	// +required
	URL string `json:"url"`

	// SecretRef names a Secret with the credentials: username and password
	// or bearerToken for HTTPS, identity and known_hosts for SSH, and
	// optionally ca.crt, tls.crt and tls.key.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// Provider selects how to authenticate; generic (the default) uses
	// secretRef.
	// +kubebuilder:validation:Enum=generic;aws;azure;github
	// +optional
	Provider string `json:"provider,omitempty"`

	// ServiceAccountName is the ServiceAccount whose identity is used to
	// authenticate with the azure or aws provider.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Interval between checks of the repository for new commits.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// Timeout of Git operations such as cloning.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Reference is the Git reference to check out; the master branch when
	// not set.
	// +optional
	Reference *GitRepositoryRef `json:"ref,omitempty"`

	// Verification configures the verification of commit or tag signatures.
	// +optional
	Verification *GitRepositoryVerification `json:"verify,omitempty"`

	// ProxySecretRef names a Secret with the proxy address, username and
	// password to use for the Git server.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// Ignore replaces the default exclusion patterns, in .sourceignore
	// (gitignore) syntax.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Suspend stops reconciliation of this object while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// RecurseSubmodules also clones the submodules of the repository.
	// +optional
	RecurseSubmodules bool `json:"recurseSubmodules,omitempty"`

	// Include lists other GitRepositories whose artifact contents are
	// copied into this artifact.
	// +optional
	Include []GitRepositoryInclude `json:"include,omitempty"`

	// SparseCheckout limits the checkout, and so the artifact, to these
	// directories.
	// +optional
	SparseCheckout []string `json:"sparseCheckout,omitempty"`
}

// GitRepositoryInclude copies (part of) the artifact of another
// GitRepository into this one.
type GitRepositoryInclude struct {
	// GitRepositoryRef names the GitRepository, in the same namespace, to
	// include.
	// +required
	GitRepositoryRef meta.LocalObjectReference `json:"repository"`

	// FromPath is the directory in the included artifact to copy; the
	// artifact root when empty.
	// +optional
	FromPath string `json:"fromPath,omitempty"`

	// ToPath is the directory to copy to; the included repository's name
	// when empty.
	// +optional
	ToPath string `json:"toPath,omitempty"`
}

// GetFromPath returns the source directory of the include.
func (in *GitRepositoryInclude) GetFromPath() string {
	return in.FromPath
}

// GetToPath returns the target directory of the include, defaulting to the
// name of the included repository.
func (in *GitRepositoryInclude) GetToPath() string {
	if in.ToPath == "" {
		return in.GitRepositoryRef.Name
	}
	return in.ToPath
}

// GitRepositoryRef selects what to check out. The first field set in the
// order commit, name, semver, tag, branch wins.
type GitRepositoryRef struct {
	// Branch to check out; master when nothing else is set.
	// +optional
	Branch string `json:"branch,omitempty"`

	// Tag to check out; takes precedence over Branch.
	// +optional
	Tag string `json:"tag,omitempty"`

	// SemVer is a version range; the highest matching tag is checked out.
	// Takes precedence over Tag.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// Name is a full Git reference, such as refs/heads/main or
	// refs/pull/1/head. Takes precedence over Branch, Tag and SemVer.
	// +optional
	Name string `json:"name,omitempty"`

	// Commit SHA to check out; takes precedence over everything else. With
	// Branch it allows a shallow clone of that branch.
	// +optional
	Commit string `json:"commit,omitempty"`
}

// GitVerificationMode selects which Git objects have their signature
// verified.
type GitVerificationMode string

// Git verification modes.
const (
	// ModeGitHEAD verifies the commit HEAD points to.
	ModeGitHEAD GitVerificationMode = "HEAD"
	// ModeGitTag verifies the tag that was checked out.
	ModeGitTag GitVerificationMode = "Tag"
	// ModeGitTagAndHEAD verifies both the tag and the commit it points to.
	ModeGitTagAndHEAD GitVerificationMode = "TagAndHEAD"
	// modeGitHEADLegacy is the lower-case spelling of HEAD kept for old
	// manifests.
	modeGitHEADLegacy GitVerificationMode = "head"
)

// GitRepositoryVerification configures signature verification of commits
// or tags.
type GitRepositoryVerification struct {
	// Mode selects what is verified; "head" is an old spelling of "HEAD".
	// +kubebuilder:validation:Enum=head;HEAD;Tag;TagAndHEAD
	// +kubebuilder:default:=HEAD
	// +optional
	Mode GitVerificationMode `json:"mode,omitempty"`

	// SecretRef names a Secret with the trusted public keys: PGP keys under
	// keys ending in .asc, SSH keys under keys ending in .sshpub.
	// +required
	SecretRef meta.LocalObjectReference `json:"secretRef"`
}

// GetMode returns the verification mode with the legacy spelling and the
// empty value mapped to HEAD.
func (in *GitRepositoryVerification) GetMode() GitVerificationMode {
	switch in.Mode {
	case "", modeGitHEADLegacy:
		return ModeGitHEAD
	default:
		return in.Mode
	}
}

// VerifyHEAD reports whether the commit HEAD points to must be verified.
func (in *GitRepositoryVerification) VerifyHEAD() bool {
	m := in.GetMode()
	return m == ModeGitHEAD || m == ModeGitTagAndHEAD
}

// VerifyTag reports whether the checked-out tag must be verified.
func (in *GitRepositoryVerification) VerifyTag() bool {
	m := in.GetMode()
	return m == ModeGitTag || m == ModeGitTagAndHEAD
}

// GitRepositoryStatus is the observed state of a GitRepository.
type GitRepositoryStatus struct {
	// ObservedGeneration is the last generation of the object that was
	// reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the GitRepository.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Artifact is the output of the last successful reconciliation.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	// IncludedArtifacts are the artifacts of spec.include used by the last
	// successful reconciliation.
	// +optional
	IncludedArtifacts []*meta.Artifact `json:"includedArtifacts,omitempty"`

	// ObservedIgnore is the ignore value used to build the artifact.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	// ObservedRecurseSubmodules is the recurseSubmodules value used to build
	// the artifact.
	// +optional
	ObservedRecurseSubmodules bool `json:"observedRecurseSubmodules,omitempty"`

	// ObservedInclude is the include list used to build the artifact.
	// +optional
	ObservedInclude []GitRepositoryInclude `json:"observedInclude,omitempty"`

	// ObservedSparseCheckout is the sparseCheckout list used to build the
	// artifact.
	// +optional
	ObservedSparseCheckout []string `json:"observedSparseCheckout,omitempty"`

	// SourceVerificationMode is the verification mode last applied.
	// +optional
	SourceVerificationMode *GitVerificationMode `json:"sourceVerificationMode,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// GetConditions returns the status conditions.
func (in *GitRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *GitRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns spec.interval.
func (in *GitRepository) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetTimeout returns spec.timeout, or 60s when it is not set.
func (in *GitRepository) GetTimeout() time.Duration {
	if in.Spec.Timeout == nil || in.Spec.Timeout.Duration <= 0 {
		return DefaultGitTimeout
	}
	return in.Spec.Timeout.Duration
}

// GetObservedGeneration returns status.observedGeneration.
func (in *GitRepository) GetObservedGeneration() int64 {
	return in.Status.ObservedGeneration
}

// SetObservedGeneration sets status.observedGeneration.
func (in *GitRepository) SetObservedGeneration(g int64) {
	in.Status.ObservedGeneration = g
}

// IsSuspended returns spec.suspend.
func (in *GitRepository) IsSuspended() bool {
	return in.Spec.Suspend
}

// GetArtifact returns status.artifact.
func (in *GitRepository) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *GitRepository) GetLastHandledReconcileRequest() string {
	return in.Status.GetLastHandledReconcileRequest()
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *GitRepository) SetLastHandledReconcileRequest(token string) {
	in.Status.SetLastHandledReconcileRequest(token)
}

// GitRepository produces an artifact from a Git repository.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=gitrepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".spec.url"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
type GitRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec GitRepositorySpec `json:"spec,omitempty"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	Status GitRepositoryStatus `json:"status,omitempty"`
}

// GitRepositoryList is a list of GitRepository objects.
// +kubebuilder:object:root=true
type GitRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the GitRepositories.
	Items []GitRepository `json:"items"`
}

func init() {
	SchemeBuilder.Register(&GitRepository{}, &GitRepositoryList{})
}
