package controller

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	gotkkustomize "gotk.dev/pkg/kustomize"

	"gotk.dev/kustomize-controller/internal/drift"
	"gotk.dev/kustomize-controller/internal/inventory"
)

// driftEvents turns drift notifications into reconcile requests for the
// owning Kustomization.
func (r *KustomizationReconciler) driftEvents() <-chan event.GenericEvent {
	ch := make(chan event.GenericEvent, 1024)
	r.Drift.Notify = func(c drift.Change) {
		ev := event.GenericEvent{Object: &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: c.Owner.Namespace, Name: c.Owner.Name}}}
		select {
		case ch <- ev:
		default:
			go func() { ch <- ev }() // never block the informer
		}
	}
	return ch
}

// driftSyncTimeout bounds how long a reconcile waits for the drift
// watches to list their kinds (after a start): longer than listing tens
// of thousands of objects' metadata takes, short enough that a kind whose
// list fails does not stall the queue.
const driftSyncTimeout = 30 * time.Second

// unchanged reports whether this reconcile has nothing to do: the same
// revision and spec were applied and are healthy, a user did not ask for
// a reconcile, and the drift watch (covering every applied kind) saw no
// change. Then nothing is built, dry-run or written.
func (r *KustomizationReconciler) unchanged(ctx context.Context, obj *kustomizev1.Kustomization) (string, bool) {
	if r.Drift == nil {
		return "", false
	}
	watcher := r.Drift
	if obj.Spec.KubeConfig != nil {
		// Drift in another cluster is seen by that cluster's watcher.
		cl, err := r.remoteCluster(ctx, obj)
		if err != nil || cl.Drift == nil {
			return "", false
		}
		watcher = cl.Drift
	}
	dirty := watcher.TakeDirty(client.ObjectKeyFromObject(obj))
	token, requested := meta.ReconcileAnnotationValue(obj.GetAnnotations())
	switch {
	case dirty, requested && token != obj.Status.LastHandledReconcileAt,
		!conditions.IsReady(obj), conditions.IsFalse(obj, kustomizev1.HealthyCondition),
		obj.Status.ObservedGeneration != obj.Generation, obj.Status.Inventory == nil,
		// Inputs outside the artifact can change without a new revision.
		obj.Spec.PostBuild != nil && len(obj.Spec.PostBuild.SubstituteFrom) > 0,
		obj.Spec.Decryption != nil, len(obj.Spec.DependsOn) > 0:
		return "", false
	}
	art, err := r.sourceArtifact(ctx, obj)
	if err != nil || art.Revision != obj.Status.LastAppliedRevision {
		return "", false
	}
	entries, err := inventory.Entries(obj.Status.Inventory)
	if err != nil || !watcher.EnsureSynced(ctx, kinds(entries), driftSyncTimeout) {
		return "", false
	}
	return art.Revision, true
}

func kinds(entries []inventory.Entry) []schema.GroupVersionKind {
	seen := map[schema.GroupVersionKind]bool{}
	var out []schema.GroupVersionKind
	for _, e := range entries {
		if gvk := e.GVK(); !seen[gvk] {
			seen[gvk] = true
			out = append(out, gvk)
		}
	}
	return out
}

// fightWarnings remembers which fights were reported, so each is warned
// about once.
var fightWarnings sync.Map

// ignoreFields returns, for an existing object, the fields this apply
// leaves alone: spec.ignore paths of matching rules, and fields another
// field manager keeps changing back (a fight, reported once as a warning
// naming the manager and the fields).
func (run *kustomizationRun) ignoreFields(obj *kustomizev1.Kustomization) func(u *unstructured.Unstructured) [][]string {
	var fights map[string]drift.Fight
	if run.watcher != nil {
		fights = run.watcher.Fights()
	}
	if len(obj.Spec.Ignore) == 0 && len(fights) == 0 {
		return nil
	}
	return func(u *unstructured.Unstructured) [][]string {
		var out [][]string
		for _, rule := range obj.Spec.Ignore {
			if rule.Target != nil && !matches(rule.Target, u) {
				continue
			}
			for _, p := range rule.Paths {
				if segs := pointer(p); len(segs) > 0 {
					out = append(out, segs)
				}
			}
		}
		ref := gotkkustomize.ObjectRef(u)
		if f, ok := fights[ref]; ok {
			for _, p := range f.Fields {
				out = append(out, strings.Split(p, "."))
			}
			key := string(obj.UID) + "|" + ref + "|" + f.Manager
			if _, done := fightWarnings.LoadOrStore(key, true); !done {
				run.event(obj, corev1.EventTypeWarning, "DriftFight",
					ref+": "+f.String()+" after every correction; this Kustomization stops re-applying those fields. "+
						"Remove them from the source or add a spec.ignore rule for them")
			}
		}
		return out
	}
}

// pointer splits a JSON pointer ("/spec/replicas") into field names.
func pointer(p string) []string {
	if !strings.HasPrefix(p, "/") {
		return nil
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts
}

// matches applies an ignore rule's target selector; name, namespace,
// group, version and kind are anchored regular expressions, as in Flux.
func matches(sel *kustomize.Selector, u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	for _, c := range [][2]string{{sel.Group, gvk.Group}, {sel.Version, gvk.Version}, {sel.Kind, gvk.Kind}, {sel.Name, u.GetName()}, {sel.Namespace, u.GetNamespace()}} {
		if c[0] == "" {
			continue
		}
		re, err := regexp.Compile("^(?:" + c[0] + ")$")
		if err != nil || !re.MatchString(c[1]) {
			return false
		}
	}
	for _, c := range [][2]any{{sel.LabelSelector, u.GetLabels()}, {sel.AnnotationSelector, u.GetAnnotations()}} {
		expr := c[0].(string)
		if expr == "" {
			continue
		}
		s, err := labels.Parse(expr)
		if err != nil || !s.Matches(labels.Set(c[1].(map[string]string))) {
			return false
		}
	}
	return true
}
