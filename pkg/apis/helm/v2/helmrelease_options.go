package v2

import "github.com/fluxcd/pkg/apis/kustomize"

// DriftDetectionMode says how differences between the release manifest and
// the cluster are handled.
type DriftDetectionMode string

const (
	// DriftDetectionEnabled detects drift and corrects it with an upgrade.
	DriftDetectionEnabled DriftDetectionMode = "enabled"
	// DriftDetectionWarn detects drift and only reports it.
	DriftDetectionWarn DriftDetectionMode = "warn"
	// DriftDetectionDisabled does not look for drift (the default).
	DriftDetectionDisabled DriftDetectionMode = "disabled"
)

const (
	// DriftDetectionMetadataKey is the label or annotation that, set to
	// DriftDetectionDisabledValue on an object, excludes it from drift
	// detection.
	DriftDetectionMetadataKey = "helm.toolkit.fluxcd.io/driftDetection"
	// DriftDetectionDisabledValue is the value of DriftDetectionMetadataKey
	// that excludes an object.
	DriftDetectionDisabledValue = "disabled"
)

// PostRenderStrategy says which rendered manifests go to the post-renderers.
type PostRenderStrategy string

const (
	// PostRenderStrategyNoHooks sends templates but not hooks (Helm 3).
	PostRenderStrategyNoHooks PostRenderStrategy = "nohooks"
	// PostRenderStrategyCombined sends hooks and templates in one stream.
	PostRenderStrategyCombined PostRenderStrategy = "combined"
	// PostRenderStrategySeparate sends hooks and templates in separate
	// streams.
	PostRenderStrategySeparate PostRenderStrategy = "separate"
)

// WaitStrategyName names how Helm waits for objects to become ready.
type WaitStrategyName string

const (
	// WaitStrategyPoller polls object status with kstatus (the default).
	WaitStrategyPoller WaitStrategyName = "poller"
	// WaitStrategyLegacy uses Helm 3's wait logic.
	WaitStrategyLegacy WaitStrategyName = "legacy"
)

// DriftDetection configures detection of cluster changes to release objects.
type DriftDetection struct {
	// Mode is enabled (correct drift), warn (report it) or disabled (the
	// default).
	// +kubebuilder:validation:Enum=enabled;warn;disabled
	// +optional
	Mode DriftDetectionMode `json:"mode,omitempty"`

	// Ignore lists fields left out of drift detection.
	// +optional
	Ignore []IgnoreRule `json:"ignore,omitempty"`
}

// GetMode returns the mode, disabled when unset.
func (in DriftDetection) GetMode() DriftDetectionMode {
	if in.Mode == "" {
		return DriftDetectionDisabled
	}
	return in.Mode
}

// MustDetectChanges reports whether the mode is enabled or warn.
func (in DriftDetection) MustDetectChanges() bool {
	m := in.GetMode()
	return m == DriftDetectionEnabled || m == DriftDetectionWarn
}

// IgnoreRule names fields, by JSON pointer, left out of drift detection on
// the objects the target selects.
type IgnoreRule struct {
	// Paths are JSON pointers (RFC 6901) to the fields to ignore.
	// +required
	Paths []string `json:"paths"`

	// Target selects the objects the rule applies to; empty means all.
	// +optional
	Target *kustomize.Selector `json:"target,omitempty"`
}

// PostRenderer is one post-rendering step.
type PostRenderer struct {
	// Kustomize post-renders with kustomize patches and images.
	// +optional
	Kustomize *Kustomize `json:"kustomize,omitempty"`
}

// Kustomize holds the kustomize changes of a post-renderer.
type Kustomize struct {
	// Patches are strategic-merge or JSON6902 patches applied to the objects
	// their target selects.
	// +optional
	Patches []kustomize.Patch `json:"patches,omitempty"`

	// Images overrides image names, tags or digests.
	// +optional
	Images []kustomize.Image `json:"images,omitempty"`
}

// CommonMetadata holds labels and annotations to set on every object.
type CommonMetadata struct {
	// Annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// Labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// WaitStrategy says how Helm waits for objects to become ready.
type WaitStrategy struct {
	// Name is poller (kstatus polling, the default) or legacy (Helm 3).
	// +kubebuilder:validation:Enum=poller;legacy
	// +required
	Name WaitStrategyName `json:"name"`
}
