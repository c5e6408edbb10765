// Package migrate moves Flux objects from older API versions to the ones
// gotk serves: in YAML files (a textual rewrite of apiVersion that keeps
// comments and layout) and in a cluster (objects rewritten in the CRD's
// storage version, then status.storedVersions trimmed to it), as Flux's
// `flux migrate` does. The takeover of a Flux cluster reuses the cluster
// mode before it replaces Flux's CRDs.
package migrate

import (
	"fmt"
	"strconv"
	"strings"
)

// GroupKind names a Flux kind.
type GroupKind struct{ Group, Kind string }

// since is the Flux minor release from which an API version is the latest
// one of a kind; the last entry is the version gotk serves as storage.
type since struct {
	minor   int
	version string
}

// history lists, per kind, the latest API version of each Flux 2.x minor.
var history = map[GroupKind][]since{
	{"source.toolkit.fluxcd.io", "GitRepository"}:        {{0, "v1"}},
	{"source.toolkit.fluxcd.io", "OCIRepository"}:        {{0, "v1beta2"}, {6, "v1"}},
	{"source.toolkit.fluxcd.io", "HelmRepository"}:       {{0, "v1beta2"}, {3, "v1"}},
	{"source.toolkit.fluxcd.io", "HelmChart"}:            {{0, "v1beta2"}, {3, "v1"}},
	{"source.toolkit.fluxcd.io", "Bucket"}:               {{0, "v1beta2"}, {3, "v1"}},
	{"source.toolkit.fluxcd.io", "ExternalArtifact"}:     {{7, "v1"}},
	{"kustomize.toolkit.fluxcd.io", "Kustomization"}:     {{0, "v1"}},
	{"helm.toolkit.fluxcd.io", "HelmRelease"}:            {{0, "v2beta1"}, {2, "v2beta2"}, {3, "v2"}},
	{"notification.toolkit.fluxcd.io", "Receiver"}:       {{0, "v1beta2"}, {1, "v1"}},
	{"notification.toolkit.fluxcd.io", "Alert"}:          {{0, "v1beta2"}, {3, "v1beta3"}},
	{"notification.toolkit.fluxcd.io", "Provider"}:       {{0, "v1beta2"}, {3, "v1beta3"}},
	{"image.toolkit.fluxcd.io", "ImageRepository"}:       {{0, "v1beta2"}, {7, "v1"}},
	{"image.toolkit.fluxcd.io", "ImagePolicy"}:           {{0, "v1beta2"}, {7, "v1"}},
	{"image.toolkit.fluxcd.io", "ImageUpdateAutomation"}: {{0, "v1beta1"}, {3, "v1beta2"}, {7, "v1"}},
	{"source.extensions.fluxcd.io", "ArtifactGenerator"}: {{7, "v1beta1"}},
}

// Targets maps each Flux kind to the API version objects move to.
type Targets map[GroupKind]string

// Latest are the versions gotk serves (as storage): the default target.
func Latest() Targets {
	t := Targets{}
	for gk, h := range history {
		t[gk] = h[len(h)-1].version
	}
	return t
}

// ForFluxVersion returns the latest API versions of Flux release v
// ("2.6", "v2.6.1"), as `flux migrate --version` takes it. Kinds that
// release did not have are left out, so their objects stay untouched.
func ForFluxVersion(v string) (Targets, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	parts := strings.Split(s, ".")
	major, err1 := strconv.Atoi(parts[0])
	minor := -1
	var err2 error
	if len(parts) > 1 {
		minor, err2 = strconv.Atoi(parts[1])
	}
	if err1 != nil || err2 != nil || len(parts) < 2 || len(parts) > 3 || minor < 0 {
		return nil, fmt.Errorf("version %q is not a Flux release like 2.6 or v2.6.1", v)
	}
	if major != 2 {
		return nil, fmt.Errorf("version %q: only Flux 2.x releases have these APIs", v)
	}
	t := Targets{}
	for gk, h := range history {
		for _, e := range h {
			if e.minor <= minor {
				t[gk] = e.version
			}
		}
	}
	return t, nil
}

// rank orders Kubernetes API versions: v1alpha1 < v1beta1 < v1beta2 < v1 < v2beta1 < v2.
func rank(v string) (major, stage, n int, ok bool) {
	if !strings.HasPrefix(v, "v") {
		return 0, 0, 0, false
	}
	rest := v[1:]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	major, err := strconv.Atoi(rest[:i])
	if err != nil {
		return 0, 0, 0, false
	}
	rest = rest[i:]
	switch {
	case rest == "":
		return major, 2, 0, true
	case strings.HasPrefix(rest, "beta"):
		n, err = strconv.Atoi(rest[4:])
		return major, 1, n, err == nil
	case strings.HasPrefix(rest, "alpha"):
		n, err = strconv.Atoi(rest[5:])
		return major, 0, n, err == nil
	}
	return 0, 0, 0, false
}

// older reports whether API version a precedes b; unknown forms are never older.
func older(a, b string) bool {
	am, as, an, ok1 := rank(a)
	bm, bs, bn, ok2 := rank(b)
	if !ok1 || !ok2 {
		return false
	}
	if am != bm {
		return am < bm
	}
	if as != bs {
		return as < bs
	}
	return an < bn
}

// Target returns the version an object of group/kind at version from moves
// to, and whether it moves at all (only to a newer version).
func (t Targets) Target(group, kind, from string) (string, bool) {
	to, ok := t[GroupKind{group, kind}]
	if !ok || !older(from, to) {
		return "", false
	}
	return to, true
}
