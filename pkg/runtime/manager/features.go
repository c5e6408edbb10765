package manager

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"
)

// Flux's feature gate names (each controller's internal/features and
// fluxcd/pkg/runtime/controller) that some gotk controller accepts.
const (
	GateCacheSecretsAndConfigMaps      = "CacheSecretsAndConfigMaps"
	GateObjectLevelWorkloadIdentity    = "ObjectLevelWorkloadIdentity"
	GateDisableConfigWatchers          = "DisableConfigWatchers"
	GateExternalArtifact               = "ExternalArtifact"
	GateAdditiveCELDependencyCheck     = "AdditiveCELDependencyCheck"
	GateCancelHealthCheckOnNewRevision = "CancelHealthCheckOnNewRevision"
	GateDirectSourceFetch              = "DirectSourceFetch"
	GateDisableStatusPollerCache       = "DisableStatusPollerCache"
	GateStrictPostBuildSubstitutions   = "StrictPostBuildSubstitutions"
	GateDisableFailFastBehavior        = "DisableFailFastBehavior"
	GateGroupChangeLog                 = "GroupChangeLog"
	GateMigrateAPIVersion              = "MigrateAPIVersion"
	GateDetectDrift                    = "DetectDrift"
	GateCorrectDrift                   = "CorrectDrift"
	GateAllowDNSLookups                = "AllowDNSLookups"
	GateOOMWatch                       = "OOMWatch"
	GateAdoptLegacyReleases            = "AdoptLegacyReleases"
	GateDisableChartDigestTracking     = "DisableChartDigestTracking"
	GateUseHelm3Defaults               = "UseHelm3Defaults"
	GateDefaultToRetryOnFailure        = "DefaultToRetryOnFailure"
	GateFluxStorage                    = "FluxStorage"
	GateGitForcePushBranch             = "GitForcePushBranch"
	GateGitShallowClone                = "GitShallowClone"
	GateGitAllBranchReferences         = "GitAllBranchReferences"
	GateGitSparseCheckout              = "GitSparseCheckout"
)

// Gate is a Flux feature gate a controller accepts on --feature-gates.
type Gate struct {
	// Name is Flux's name of the gate.
	Name string
	// Default is what gotk does when the flag leaves the gate unset.
	// It is Flux's default except where noted in the table.
	Default bool
	// Switchable is true when gotk implements the other value as well;
	// otherwise setting it is refused at start-up as not implemented.
	Switchable bool
}

// cacheSecrets is accepted by every controller: it decides whether the
// manager's client reads Secrets and ConfigMaps through its cache.
var cacheSecrets = Gate{Name: GateCacheSecretsAndConfigMaps, Switchable: true}

// tokenMinting is Flux's opt-in for per-object identities; every gotk
// controller mints ServiceAccount tokens for some objects (kustomize and
// helm: spec.kubeConfig.configMapRef; source and image: a cloud
// provider's spec.serviceAccountName; notification: a cloud Provider's
// spec.serviceAccountName). Off by default, as in Flux; those objects
// are then refused with FeatureGateDisabled.
var tokenMinting = Gate{Name: GateObjectLevelWorkloadIdentity, Switchable: true}

// ControllerGates is the one table of the gates each controller accepts.
var ControllerGates = map[string][]Gate{
	"source-controller": {cacheSecrets, tokenMinting},
	"kustomize-controller": {
		cacheSecrets, tokenMinting,
		{Name: GateStrictPostBuildSubstitutions, Switchable: true},
		// Health checks read unstructured objects, which the client does
		// not cache, as with Flux's default.
		{Name: GateDisableStatusPollerCache, Default: true},
		// Differs from Flux: gotk serves ArtifactGenerator itself, so
		// ExternalArtifact sources are always accepted.
		{Name: GateExternalArtifact, Default: true},
		// Differs from Flux: a health check always ends when the source
		// publishes a new revision.
		{Name: GateCancelHealthCheckOnNewRevision, Default: true},
		// Differs from Flux: no watch on labelled ConfigMaps and Secrets.
		{Name: GateDisableConfigWatchers, Default: true},
		{Name: GateDisableFailFastBehavior}, {Name: GateGroupChangeLog},
		{Name: GateAdditiveCELDependencyCheck}, {Name: GateDirectSourceFetch}, {Name: GateMigrateAPIVersion},
	},
	"helm-controller": {
		cacheSecrets, tokenMinting,
		{Name: GateDetectDrift, Switchable: true}, {Name: GateCorrectDrift, Switchable: true},
		// Differs from Flux: ExternalArtifact chart sources are always accepted.
		{Name: GateExternalArtifact, Default: true},
		{Name: GateAllowDNSLookups}, {Name: GateOOMWatch}, {Name: GateAdoptLegacyReleases},
		{Name: GateDisableChartDigestTracking}, {Name: GateUseHelm3Defaults}, {Name: GateDefaultToRetryOnFailure},
		{Name: GateCancelHealthCheckOnNewRevision}, {Name: GateAdditiveCELDependencyCheck},
		{Name: GateDisableConfigWatchers}, {Name: GateDirectSourceFetch},
	},
	// gotk's image-automation-controller also runs Flux's
	// image-reflector-controller kinds, so it takes both sets.
	"image-automation-controller": {
		cacheSecrets, tokenMinting,
		{Name: GateGitShallowClone, Default: true},
		{Name: GateGitAllBranchReferences, Default: true},
		// Differs from Flux: the push branch is pushed without force.
		{Name: GateGitForcePushBranch},
		{Name: GateFluxStorage}, {Name: GateGitSparseCheckout},
	},
	"notification-controller": {cacheSecrets, tokenMinting, {Name: GateDisableConfigWatchers}},
}

// Features are a controller's gates resolved from --feature-gates and
// the defaults of ControllerGates.
type Features map[string]bool

// Enabled reports whether gate is on.
func (f Features) Enabled(gate string) bool { return f[gate] }

// ResolveFeatureGates checks the gates set on the command line against
// the controller's table: an unknown gate, or a value gotk does not
// implement, is an error naming the gate.
func ResolveFeatureGates(controller string, set map[string]bool) (Features, error) {
	gates := ControllerGates[controller]
	f := make(Features, len(gates))
	for _, g := range gates {
		f[g.Name] = g.Default
	}
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		i := slices.IndexFunc(gates, func(g Gate) bool { return g.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("feature gate %s is unknown to %s (it knows %s)", name, controller, knownGates(gates))
		}
		g, value := gates[i], set[name]
		if value != g.Default && !g.Switchable {
			return nil, fmt.Errorf("feature gate %s is not implemented by gotk: %s=%t is refused (gotk runs with %s=%t)",
				name, name, value, name, g.Default)
		}
		f[name] = value
	}
	return f, nil
}

func knownGates(gates []Gate) string {
	if len(gates) == 0 {
		return "none"
	}
	names := make([]string, len(gates))
	for i, g := range gates {
		names[i] = g.Name
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// cacheable drops Secrets and ConfigMaps from the uncached kinds when
// CacheSecretsAndConfigMaps is on, so the client reads them from
// informers (watch-all RBAC and memory instead of one GET per read).
func (f Features) cacheable(uncached []ctrlclient.Object) []ctrlclient.Object {
	if !f.Enabled(GateCacheSecretsAndConfigMaps) {
		return uncached
	}
	return slices.DeleteFunc(slices.Clone(uncached), func(o ctrlclient.Object) bool {
		switch o.(type) {
		case *corev1.Secret, *corev1.ConfigMap:
			return true
		}
		return false
	})
}
