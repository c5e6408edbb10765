package v1beta1

import (
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// ArtifactGeneratorKind is the kind name of ArtifactGenerator.
	ArtifactGeneratorKind = "ArtifactGenerator"
	// ArtifactGeneratorLabel names, on each ExternalArtifact, the
	// ArtifactGenerator that produced it.
	ArtifactGeneratorLabel = "source.extensions.fluxcd.io/generator"
	// ArtifactOriginRevisionAnnotation is the artifact metadata key that
	// carries the origin revision (spec.artifacts[].originRevision).
	ArtifactOriginRevisionAnnotation = "org.opencontainers.image.revision"
	// ReconcileAnnotation set to "disabled" suspends the ArtifactGenerator.
	ReconcileAnnotation = "source.extensions.fluxcd.io/reconcile"

	// AccessDeniedReason: a source in another namespace while
	// cross-namespace references are disabled.
	AccessDeniedReason = "AccessDenied"
	// ValidationFailedReason: the spec is invalid (an unknown alias, a
	// path escaping its root, duplicate names).
	ValidationFailedReason = "ValidationFailed"
	// SourceFetchFailedReason: a source is missing, has no artifact yet,
	// or its artifact could not be fetched.
	SourceFetchFailedReason = "SourceFetchFailed"
	// BuildFailedReason: the copy operations could not build an artifact
	// (a glob that matches nothing, a file that does not merge).
	BuildFailedReason = "BuildFailed"

	// OverwriteStrategy replaces existing files (the default).
	OverwriteStrategy = "Overwrite"
	// MergeStrategy merges YAML files into existing ones, the later
	// file's values winning, as Helm merges values files.
	MergeStrategy = "Merge"
	// ExtractStrategy unpacks matched .tar.gz files into the destination.
	ExtractStrategy = "Extract"
)

// ArtifactGeneratorSpec is the desired state of an ArtifactGenerator.
// Without a pathPattern, artifact names are object names as they stand;
// with one they are templates, checked once rendered.
// +kubebuilder:validation:XValidation:rule="has(self.pathPattern) && size(self.pathPattern) > 0 || self.artifacts.all(a, a.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$') && a.name.size() <= 253)",message="artifact names must be valid Kubernetes object names when pathPattern is not set"
type ArtifactGeneratorSpec struct {
	// CommonMetadata are labels and annotations set on every generated
	// ExternalArtifact.
	// +optional
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// Sources are the source objects the artifacts are generated from,
	// each named by a unique alias.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +required
	Sources []SourceReference `json:"sources"`

	// PathPattern, as "@<alias>/<pattern>", generates the artifacts once
	// per directory of that source matching pattern, whose segments may
	// hold captures such as "{app}" (e.g. "@repo/apps/{app}/envs/{env}").
	// The captured values fill the same placeholders in the artifacts'
	// name (lowercased) and copy from/to (as found), and label each
	// generated ExternalArtifact (capture name = lowercased value).
	// +kubebuilder:validation:Pattern="^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)/(.*)$"
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	PathPattern string `json:"pathPattern,omitempty"`

	// OutputArtifacts are the ExternalArtifacts to generate.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +required
	OutputArtifacts []OutputArtifact `json:"artifacts"`
}

// CommonMetadata are labels and annotations for generated objects.
type CommonMetadata struct {
	// Annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
	// Labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// SourceReference names a source object by alias.
type SourceReference struct {
	// Alias of the source in copy operations ("@<alias>/...").
	// +kubebuilder:validation:Pattern="^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$"
	// +kubebuilder:validation:MaxLength=63
	// +required
	Alias string `json:"alias"`

	// Name of the source object.
	// +kubebuilder:validation:Pattern="^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$"
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Namespace of the source object; defaults to the ArtifactGenerator's.
	// +kubebuilder:validation:Pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Kind of the source object.
	// +kubebuilder:validation:Enum=Bucket;GitRepository;OCIRepository;HelmChart;ExternalArtifact
	// +required
	Kind string `json:"kind"`
}

// OutputArtifact is one ExternalArtifact to generate.
type OutputArtifact struct {
	// Name of the generated ExternalArtifact; with spec.pathPattern it may
	// hold capture placeholders such as "{app}". The object-name rules are
	// the spec's CEL rule without a pattern, checked once rendered with one.
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Name string `json:"name"`

	// Revision, as "@<alias>", takes the artifact revision from that
	// source; by default it is "latest@sha256:<hex>" of the content.
	// +kubebuilder:validation:Pattern="^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)$"
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Revision string `json:"revision,omitempty"`

	// OriginRevision, as "@<alias>", records that source's revision in
	// the artifact metadata under org.opencontainers.image.revision.
	// +kubebuilder:validation:Pattern="^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)$"
	// +kubebuilder:validation:MaxLength=64
	// +optional
	OriginRevision string `json:"originRevision,omitempty"`

	// Copy operations, run in order; later ones overwrite (or merge into)
	// what earlier ones wrote.
	// +kubebuilder:validation:MinItems=1
	// +required
	Copy []CopyOperation `json:"copy"`
}

// CopyOperation copies files matched in a source into the artifact.
type CopyOperation struct {
	// From is "@<alias>/<glob>": '*' matches within a directory, '**'
	// across directories. With spec.pathPattern it may hold its captures.
	// +kubebuilder:validation:Pattern="^@([a-z0-9]([a-z0-9_-]*[a-z0-9])?)/(.*)$"
	// +kubebuilder:validation:MaxLength=1024
	// +required
	From string `json:"from"`

	// To is "@artifact/<path>"; a path ending in '/' is a directory.
	// With spec.pathPattern it may hold its captures.
	// +kubebuilder:validation:Pattern="^@(artifact)/(.*)$"
	// +kubebuilder:validation:MaxLength=1024
	// +required
	To string `json:"to"`

	// Exclude are glob patterns of matched files to leave out, matched
	// against the path from the source root and the path under the
	// non-glob prefix of From ('*', '**', '[...]' and '{a,b}'
	// alternatives; a pattern without '/' also matches file names at any
	// depth). From and each exclude may hold at most 20 commas in '{}'
	// groups.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Exclude []string `json:"exclude,omitempty"`

	// Strategy is Overwrite (default), Merge (YAML values merge into an
	// existing file) or Extract (unpack matched .tar.gz files).
	// +kubebuilder:validation:Enum=Overwrite;Merge;Extract
	// +optional
	Strategy string `json:"strategy,omitempty"`
}

// ArtifactGeneratorStatus is the observed state of an ArtifactGenerator.
type ArtifactGeneratorStatus struct {
	meta.ReconcileRequestStatus `json:",inline"`

	// ObservedGeneration is the last generation reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions of the ArtifactGenerator.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Inventory lists the generated ExternalArtifacts.
	// +optional
	Inventory []ExternalArtifactReference `json:"inventory,omitempty"`

	// ObservedSourcesDigest is a digest of the sources' artifacts the
	// inventory was generated from.
	// +optional
	ObservedSourcesDigest string `json:"observedSourcesDigest,omitempty"`
}

// ExternalArtifactReference is one generated ExternalArtifact.
type ExternalArtifactReference struct {
	// Name of the ExternalArtifact.
	// +required
	Name string `json:"name"`
	// Namespace of the ExternalArtifact.
	// +required
	Namespace string `json:"namespace"`
	// Digest of its artifact.
	// +required
	Digest string `json:"digest"`
	// Filename of its artifact in storage.
	// +required
	Filename string `json:"filename"`
}

// GetConditions returns the status conditions.
func (in *ArtifactGenerator) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *ArtifactGenerator) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// GetRequeueAfter is an hour: source changes trigger reconciles through
// watches; the interval only repairs lost storage.
func (in *ArtifactGenerator) GetRequeueAfter() time.Duration { return time.Hour }

// GetObservedGeneration returns status.observedGeneration.
func (in *ArtifactGenerator) GetObservedGeneration() int64 { return in.Status.ObservedGeneration }

// SetObservedGeneration sets status.observedGeneration.
func (in *ArtifactGenerator) SetObservedGeneration(g int64) { in.Status.ObservedGeneration = g }

// IsSuspended reports the reconcile annotation set to disabled (Flux's
// ArtifactGenerator has no spec.suspend).
func (in *ArtifactGenerator) IsSuspended() bool {
	v := strings.ToLower(in.GetAnnotations()[ReconcileAnnotation])
	return v == "disabled" || v == "disable"
}

// GetLastHandledReconcileRequest returns status.lastHandledReconcileAt.
func (in *ArtifactGenerator) GetLastHandledReconcileRequest() string {
	return in.Status.GetLastHandledReconcileRequest()
}

// SetLastHandledReconcileRequest sets status.lastHandledReconcileAt.
func (in *ArtifactGenerator) SetLastHandledReconcileRequest(token string) {
	in.Status.SetLastHandledReconcileRequest(token)
}

// ArtifactGenerator composes artifacts of sources into ExternalArtifacts,
// or splits one source into several, each with its own digest.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=ag,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
type ArtifactGenerator struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state.
	Spec ArtifactGeneratorSpec `json:"spec,omitempty"`

	// Status is the observed state.
	// +kubebuilder:default={"observedGeneration":-1}
	Status ArtifactGeneratorStatus `json:"status,omitempty"`
}

// ArtifactGeneratorList is a list of ArtifactGenerators.
// +kubebuilder:object:root=true
type ArtifactGeneratorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ArtifactGenerators.
	Items []ArtifactGenerator `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ArtifactGenerator{}, &ArtifactGeneratorList{})
}
