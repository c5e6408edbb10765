package ui

import (
	"fmt"
	"strconv"
	"strings"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// fieldDiff is one field of two history entries side by side.
type fieldDiff struct {
	Key, From, To string
	Changed       bool
}

// historyDiff compares two status.history entries field by field; from
// and to index the history (newest first). Out-of-range indexes give nil.
func historyDiff(h []entry, from, to int) []fieldDiff {
	if from < 0 || to < 0 || from >= len(h) || to >= len(h) {
		return nil
	}
	values := func(e entry) map[string]string {
		m := map[string]string{}
		for _, kv := range e {
			m[kv[0]] = kv[1]
		}
		return m
	}
	a, b := values(h[from]), values(h[to])
	var keys []string
	seen := map[string]bool{}
	for _, e := range []entry{h[from], h[to]} {
		for _, kv := range e {
			if !seen[kv[0]] {
				seen[kv[0]] = true
				keys = append(keys, kv[0])
			}
		}
	}
	var out []fieldDiff
	for _, k := range keys {
		out = append(out, fieldDiff{Key: k, From: a[k], To: b[k], Changed: a[k] != b[k]})
	}
	return out
}

// indexParam reads a history index from the query, def when absent or bad.
func indexParam(v string, def int) int {
	if i, err := strconv.Atoi(v); err == nil && i >= 0 {
		return i
	}
	return def
}

// rollback is how to return to an earlier state, for a person to do:
// the UI shows it and does not act.
type rollback struct {
	Text     string
	Commands []string
}

// kustomizationRollback: revert in Git the commit last applied, since the
// controller would re-apply anything changed in the cluster alone.
func kustomizationRollback(ks *kustomizev1.Kustomization) *rollback {
	rev := ks.Status.LastAppliedRevision
	i := strings.LastIndex(rev, "sha1:")
	if ks.Spec.SourceRef.Kind != "GitRepository" || i < 0 {
		return nil
	}
	sha := rev[i+len("sha1:"):]
	r := &rollback{Text: fmt.Sprintf("Revert commit %s (applied as %s) in the Git repository and push; "+
		"the Kustomization applies the revert at its next reconcile.", sha, rev),
		Commands: []string{"git revert --no-edit " + sha, "git push",
			fmt.Sprintf("gotk -n %s reconcile kustomization %s --with-source", ks.Namespace, ks.Name)}}
	return r
}

// helmReleaseRollback names the history entry to return to: the newest
// deployed or superseded release older than the latest (the one
// helm-controller's own rollback remediation would choose).
func helmReleaseRollback(hr *helmv2.HelmRelease) *rollback {
	prev := hr.Status.History.Previous(false)
	if prev == nil {
		return nil
	}
	ns := cmpOr(prev.Namespace, hr.Namespace)
	return &rollback{Text: fmt.Sprintf("Return to release v%d: chart %s %s (values digest %s). "+
		"Set the chart version and values it had in Git; or, to act now, suspend the HelmRelease and roll the release back.",
		prev.Version, prev.ChartName, prev.ChartVersion, prev.ConfigDigest),
		Commands: []string{fmt.Sprintf("gotk -n %s suspend helmrelease %s", hr.Namespace, hr.Name),
			fmt.Sprintf("helm rollback %s %d -n %s", prev.Name, prev.Version, ns)}}
}
