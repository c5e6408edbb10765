// Package drift compares objects as kustomize-controller would apply them
// with the cluster, by server-side dry-run (or, for an identity without
// patch access, field by field: CompareFields), with Secret values masked.
// `gotk diff kustomization` and the web UI's drift view both use it.
package drift

import (
	"context"
	"fmt"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"gotk.dev/cli/internal/secretmask"
	"gotk.dev/pkg/kustomize"
)

// Actions a Change reports.
const (
	Created    = "created"
	Configured = "configured"
)

// Change is one object that applying would create or configure.
type Change struct {
	// Ref is Kind/namespace/name (Kind/name when cluster-scoped).
	Ref    string
	Action string
	// Diff is the unified diff from the cluster ("cluster") to the
	// would-be applied object ("desired"); empty for Created.
	Diff string
}

// Compare dry-runs each object as kustomize-controller would apply it and
// returns what would be created or how it would be configured; objects
// that would not change, or that the controller would not apply (see
// kustomize.Excluded and kustomize.OnlyIfAbsent), are left out.
func Compare(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, toFile string) ([]Change, error) {
	return compare(objs, toFile, func(obj *unstructured.Unstructured) (*unstructured.Unstructured, *unstructured.Unstructured, error) {
		return liveAndDryRun(ctx, c, obj)
	})
}

// pairFunc reads obj's live object and what it would become.
type pairFunc func(obj *unstructured.Unstructured) (live, after *unstructured.Unstructured, err error)

// compare runs pair on each object the controller would apply and diffs
// the two sides, Secret values masked.
func compare(objs []*unstructured.Unstructured, toFile string, pair pairFunc) ([]Change, error) {
	var out []Change
	for _, obj := range objs {
		// What the controller never applies never drifts.
		if kustomize.Excluded(obj) {
			continue
		}
		ref := fmt.Sprintf("%s/%s", obj.GetKind(), obj.GetName())
		if obj.GetNamespace() != "" {
			ref = fmt.Sprintf("%s/%s/%s", obj.GetKind(), obj.GetNamespace(), obj.GetName())
		}
		live, after, err := pair(obj)
		if apierrors.IsNotFound(err) {
			out = append(out, Change{Ref: ref, Action: Created})
			continue
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", ref, err)
		}
		if kustomize.OnlyIfAbsent(obj) {
			continue // it exists, so the controller leaves it as it is
		}
		// Secret values are never shown: only which keys change.
		secretmask.Mask(live, after)
		before, afterText := comparable(live), comparable(after)
		if before == afterText {
			continue
		}
		diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(before), B: difflib.SplitLines(afterText), FromFile: "cluster", ToFile: toFile, Context: 2,
		})
		out = append(out, Change{Ref: ref, Action: Configured, Diff: diff})
	}
	return out, nil
}

// liveAndDryRun reads obj from the cluster and dry-runs its apply on the
// same version of it: when another writer (a controller adding an
// annotation) changes the object in between, it reads both again, so the
// diff shows only what applying obj would change.
func liveAndDryRun(ctx context.Context, c client.Client, obj *unstructured.Unstructured) (live, dry *unstructured.Unstructured, err error) {
	for range 5 {
		live = &unstructured.Unstructured{}
		live.SetGroupVersionKind(obj.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			return nil, nil, err
		}
		dry = obj.DeepCopy()
		if err := c.Patch(ctx, dry, client.Apply, client.FieldOwner("kustomize-controller"), client.ForceOwnership, client.DryRunAll); err != nil {
			return nil, nil, fmt.Errorf("dry-run apply: %w", err)
		}
		if dry.GetResourceVersion() == live.GetResourceVersion() {
			break
		}
	}
	return live, dry, nil
}

// comparable is the object's YAML without fields the server manages.
func comparable(u *unstructured.Unstructured) string {
	c := u.DeepCopy()
	for _, f := range [][]string{{"metadata", "managedFields"}, {"metadata", "resourceVersion"}, {"metadata", "generation"},
		{"metadata", "creationTimestamp"}, {"metadata", "uid"}, {"status"}} {
		unstructured.RemoveNestedField(c.Object, f...)
	}
	data, _ := yaml.Marshal(c.Object)
	return string(data)
}
