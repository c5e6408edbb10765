package v1

import (
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// Kind names of the source.toolkit.fluxcd.io/v1 kinds.
const (
	// GitRepositoryKind is the kind name of GitRepository.
	GitRepositoryKind = "GitRepository"
	// OCIRepositoryKind is the kind name of OCIRepository.
	OCIRepositoryKind = "OCIRepository"
	// HelmRepositoryKind is the kind name of HelmRepository.
	HelmRepositoryKind = "HelmRepository"
	// HelmChartKind is the kind name of HelmChart.
	HelmChartKind = "HelmChart"
	// BucketKind is the kind name of Bucket.
	BucketKind = "Bucket"
	// ExternalArtifactKind is the kind name of ExternalArtifact.
	ExternalArtifactKind = "ExternalArtifact"
)

// SourceIndexKey is the field index key consumers use to find the objects
// that reference a given source.
const SourceIndexKey = ".metadata.source"

// Source is what every kind that produces an artifact offers to consumers:
// the latest artifact and how often it is refreshed.
// +k8s:deepcopy-gen=false
type Source interface {
	runtime.Object
	// GetArtifact returns the latest artifact, or nil when there is none.
	GetArtifact() *meta.Artifact
	// GetRequeueAfter returns the interval at which the source is refreshed.
	GetRequeueAfter() time.Duration
}
