package reconcile

import (
	"github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
)

// FlagNoCrossNamespaceRefs is Flux's name of the flag that refuses
// references from an object to another namespace.
const FlagNoCrossNamespaceRefs = "no-cross-namespace-refs"

// CrossNamespaceRef checks one reference of an object in namespace from to
// the object kind namespace/name. When refuse is set (the controller runs
// with --no-cross-namespace-refs) and the namespaces differ, it returns a
// Stalling AccessDenied error naming the field, the reference and the
// flag; otherwise nil. Every controller checks references through it, so
// the message is the same everywhere.
func CrossNamespaceRef(refuse bool, from, field, kind, namespace, name string) error {
	if !refuse || namespace == "" || namespace == from {
		return nil
	}
	return Stall(acl.AccessDeniedReason,
		"%s: cannot use %s %s/%s from namespace %s: cross-namespace references are disabled on this controller (--%s)",
		field, kind, namespace, name, from, FlagNoCrossNamespaceRefs)
}

// FeatureGateDisabled returns the Stalling error of an object asking for
// what (a field or key) that only the feature gate allows, with Flux's
// reason FeatureGateDisabled and the gate to enable named.
func FeatureGateDisabled(gate, what string) error {
	return Stall(meta.FeatureGateDisabledReason,
		"%s needs the %s feature gate, which is disabled on this controller (enable it with --feature-gates=%s=true)",
		what, gate, gate)
}
