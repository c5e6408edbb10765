package bootstrap

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// A cluster already bootstrapped from another repository, branch or path
// syncs its sync objects from the old commit: kustomize-controller undoes
// drift as it happens, so a new URL applied by bootstrap would be put
// back before the new commit is fetched. A move therefore suspends the
// flux-system Kustomization, points the GitRepository at the new place,
// waits for it to fetch the pushed commit, and only then applies the
// Kustomization again (unsuspended), which finds the same sync objects in
// the new commit.

// isMove reports whether live sync objects exist and differ from the
// desired ones in where they sync from.
func isMove(ctx context.Context, c client.Client, repo *sourcev1.GitRepository, ks *kustomizev1.Kustomization) (bool, error) {
	liveRepo := &sourcev1.GitRepository{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(repo), liveRepo); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	if syncsElsewhere(liveRepo, repo) {
		return true, nil
	}
	liveKs := &kustomizev1.Kustomization{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ks), liveKs); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return liveKs.Spec.Path != ks.Spec.Path, nil
}

// syncsElsewhere reports whether the live GitRepository fetches another
// URL or branch than want.
func syncsElsewhere(live, want *sourcev1.GitRepository) bool {
	return live.Spec.URL != want.Spec.URL || live.Spec.Reference == nil ||
		live.Spec.Reference.Branch != want.Spec.Reference.Branch
}

// move applies secret and repo while the Kustomization ks is suspended, waits until
// repo has fetched revision (applying it again if the last reconcile of
// the old commit put the old spec back), then lets apply unsuspend ks.
func move(ctx context.Context, c client.Client, o Options, secret *corev1.Secret, repo *sourcev1.GitRepository, ks *kustomizev1.Kustomization, revision string) error {
	logf(o, "► moving the cluster's sync to %s: suspending Kustomization %s meanwhile", repo.Spec.URL, Name)
	suspended := ks.DeepCopy()
	suspended.Spec.Suspend = true
	for _, obj := range []client.Object{suspended, secret, repo} {
		if err := applyObject(ctx, c, obj); err != nil {
			return err
		}
	}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, o.Timeout, true, func(ctx context.Context) (bool, error) {
		live := &sourcev1.GitRepository{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(repo), live); err != nil {
			return false, keepWaiting(ctx, err, &last)
		}
		if syncsElsewhere(live, repo) {
			last = fmt.Sprintf("the GitRepository was set back to %s by %s", live.Spec.URL, urlManager(live))
			if err := applyObject(ctx, c, repo); err != nil {
				last = err.Error()
			}
			return false, nil
		}
		if live.Status.Artifact == nil || live.Status.Artifact.Revision != revision {
			last = "GitRepository: " + conditions.GetMessage(live, meta.ReadyCondition)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the GitRepository did not fetch %s within %s: %s (Kustomization %s is left suspended; rerun bootstrap)", revision, o.Timeout, last, Name)
	}
	return nil
}

// applyObject server-side applies obj as bootstrap's field manager. It
// applies a copy: the server's answer (managed fields and all) must not
// end up in an object applied again later.
func applyObject(ctx context.Context, c client.Client, obj client.Object) error {
	obj = obj.DeepCopyObject().(client.Object)
	if err := c.Patch(ctx, obj, client.Apply, client.FieldOwner(install.FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
	}
	return nil
}

// urlManager names the field manager that owns the GitRepository's URL.
func urlManager(repo *sourcev1.GitRepository) string {
	for _, e := range repo.ManagedFields {
		if e.FieldsV1 != nil && strings.Contains(string(e.FieldsV1.Raw), `"f:url"`) {
			return fmt.Sprintf("%s (%s)", e.Manager, e.Operation)
		}
	}
	return "an unknown writer"
}
