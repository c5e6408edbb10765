// Package drift watches the objects kustomize-controller applied (by owner
// label) and reports changes made by anyone else within seconds, so a
// Kustomization corrects drift without waiting for its interval. It also
// notices when another field manager keeps changing the same object back
// after every correction — a fight — so the controller can stop.
package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// Fight thresholds: this many foreign changes by one manager to one object
// within the window, each after a correction, is a fight.
const (
	FightChanges = 3
	FightWindow  = 5 * time.Minute
)

// Change is a drift seen on one object.
type Change struct {
	// Owner is the Kustomization (namespace/name) that applied the object.
	Owner client.ObjectKey
	// Object is Kind/namespace/name.
	Object string
	// Manager and Subresource name who changed it ("" manager: deleted).
	Manager, Subresource string
}

// Fight is a field manager that keeps changing fields of an object.
type Fight struct {
	Manager, Subresource string
	// Fields are the paths it owns, in dotted form ("spec.replicas").
	Fields []string
}

// Watcher runs one metadata informer per applied kind.
type Watcher struct {
	// Client is the metadata client (objects' metadata only: cheap).
	Client metadata.Interface
	// Mapper maps kinds to resources.
	Mapper meta.RESTMapper
	// FieldManager is this controller's; its own writes are not drift.
	FieldManager string
	// Notify is called for every drift (from informer goroutines).
	Notify func(Change)

	mu        sync.Mutex
	ctx       context.Context
	informers map[schema.GroupVersionKind]cache.SharedIndexInformer
	started   map[schema.GroupVersionKind]time.Time
	dirty     map[client.ObjectKey]bool
	history   map[string][]stamp // object uid -> foreign changes
	corrected map[string]bool    // object uid -> re-applied since the last foreign change
	fights    map[string]Fight   // Kind/namespace/name -> fight
}

type stamp struct {
	at              time.Time
	manager, subres string
}

// Start records the context informers run under and blocks until it
// ends (a manager Runnable).
func (w *Watcher) Start(ctx context.Context) error {
	w.Bind(ctx)
	<-ctx.Done()
	return nil
}

// Bind sets the context informers run under without blocking, for
// watchers that are not a manager's Runnable (remote clusters).
func (w *Watcher) Bind(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
}

// NeedLeaderElection: every replica may watch (it only enqueues).
func (w *Watcher) NeedLeaderElection() bool { return false }

// Ensure starts watching the kinds not yet watched and reports whether
// all of them are watched and synced.
func (w *Watcher) Ensure(gvks []schema.GroupVersionKind) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return false
	}
	if w.informers == nil {
		w.informers = map[schema.GroupVersionKind]cache.SharedIndexInformer{}
	}
	all := true
	for _, gvk := range gvks {
		inf, ok := w.informers[gvk]
		if !ok {
			m, err := w.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				all = false
				continue
			}
			inf = metadatainformer.NewFilteredMetadataInformer(w.Client, m.Resource, metav1.NamespaceAll, 0, cache.Indexers{},
				func(o *metav1.ListOptions) { o.LabelSelector = kustomizev1.NameLabel }).Informer()
			// Before Run, as SetTransform requires.
			_ = inf.SetTransform(w.slim)
			kind := gvk.Kind
			_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
				UpdateFunc: func(oldObj, newObj any) { w.onUpdate(kind, oldObj, newObj) },
				DeleteFunc: func(obj any) { w.onDelete(kind, obj) },
			})
			w.informers[gvk] = inf
			if w.started == nil {
				w.started = map[schema.GroupVersionKind]time.Time{}
			}
			w.started[gvk] = time.Now()
			go inf.Run(w.ctx.Done())
		}
		if !inf.HasSynced() {
			all = false
		}
	}
	return all
}

// EnsureSynced is Ensure that waits for the kinds' first list, until
// timeout after each watch started. A controller that just started reads
// every Kustomization at once: waiting for the watches lets each one be
// verified from the cache instead of rebuilt and re-read, which costs far
// more than the wait. A watch that has not synced by then (its list is
// refused, say) is not waited for again.
func (w *Watcher) EnsureSynced(ctx context.Context, gvks []schema.GroupVersionKind, timeout time.Duration) bool {
	if w.Ensure(gvks) {
		return true
	}
	w.mu.Lock()
	var synced []cache.InformerSynced
	wait := time.Duration(0)
	for _, gvk := range gvks {
		if inf, ok := w.informers[gvk]; ok {
			synced = append(synced, inf.HasSynced)
			wait = max(wait, timeout-time.Since(w.started[gvk]))
		}
	}
	w.mu.Unlock()
	if len(synced) < len(gvks) || wait <= 0 {
		return false // a kind could not be watched, or its list keeps failing
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// TakeDirty reports whether drift was seen for the Kustomization since
// the last call, and clears it.
func (w *Watcher) TakeDirty(key client.ObjectKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	d := w.dirty[key]
	delete(w.dirty, key)
	return d
}

// Fights returns the fights on objects, by Kind/namespace/name.
func (w *Watcher) Fights() map[string]Fight {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]Fight, len(w.fights))
	for k, v := range w.fights {
		out[k] = v
	}
	return out
}

func owner(o metav1.Object) (client.ObjectKey, bool) {
	l := o.GetLabels()
	name, ok := l[kustomizev1.NameLabel]
	if !ok {
		return client.ObjectKey{}, false
	}
	return client.ObjectKey{Namespace: l[kustomizev1.NamespaceLabel], Name: name}, true
}

func ref(kind string, o metav1.Object) string {
	if o.GetNamespace() == "" {
		return kind + "/" + o.GetName()
	}
	return kind + "/" + o.GetNamespace() + "/" + o.GetName()
}

func (w *Watcher) onDelete(kind string, obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	o, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return
	}
	key, ok := owner(o)
	if !ok {
		return
	}
	w.forget(string(o.UID), ref(kind, o))
	w.report(Change{Owner: key, Object: ref(kind, o)})
}

// forget drops what was kept about a deleted object, so the watcher's
// memory follows the live objects, not every object it ever saw; a
// re-created object starts without a fight.
func (w *Watcher) forget(uid, object string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.corrected, uid)
	delete(w.history, uid)
	delete(w.fights, object)
}

// onUpdate reports changes by other managers to the main resource or
// its scale; status updates and this controller's own applies are not
// drift.
func (w *Watcher) onUpdate(kind string, oldObj, newObj any) {
	o, ok1 := oldObj.(*metav1.PartialObjectMetadata)
	n, ok2 := newObj.(*metav1.PartialObjectMetadata)
	if !ok1 || !ok2 || o.ResourceVersion == n.ResourceVersion || n.DeletionTimestamp != nil {
		return
	}
	key, ok := owner(n)
	if !ok {
		return
	}
	for _, e := range changedEntries(o.ManagedFields, n.ManagedFields) {
		if e.Manager == w.FieldManager {
			w.markCorrected(string(n.UID))
			continue
		}
		if e.Subresource == "status" {
			continue
		}
		if !w.oursChanged(o.ManagedFields, n.ManagedFields) {
			// Only fields this controller does not apply changed (the
			// Deployment controller's revision annotation, a label
			// someone added): nothing to correct, no reconcile.
			continue
		}
		c := Change{Owner: key, Object: ref(kind, n), Manager: e.Manager, Subresource: e.Subresource}
		w.recordForeign(string(n.UID), c, fieldPaths(e))
		w.report(c)
		return
	}
}

// oursChanged reports whether this controller's apply entry changed: a
// field it applied was changed (its ownership moved to the writer) or
// removed by someone else.
func (w *Watcher) oursChanged(old, cur []metav1.ManagedFieldsEntry) bool {
	ours := func(entries []metav1.ManagedFieldsEntry) *metav1.ManagedFieldsEntry {
		for i, e := range entries {
			if e.Manager == w.FieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" {
				return &entries[i]
			}
		}
		return nil
	}
	o, c := ours(old), ours(cur)
	if o == nil || c == nil {
		return o != c
	}
	if o.FieldsV1 == nil || c.FieldsV1 == nil {
		return o.FieldsV1 != c.FieldsV1
	}
	return !bytes.Equal(o.FieldsV1.Raw, c.FieldsV1.Raw)
}

func (w *Watcher) report(c Change) {
	w.mu.Lock()
	if w.dirty == nil {
		w.dirty = map[client.ObjectKey]bool{}
	}
	w.dirty[c.Owner] = true
	w.mu.Unlock()
	if w.Notify != nil {
		w.Notify(c)
	}
}

func (w *Watcher) markCorrected(uid string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.corrected == nil {
		w.corrected = map[string]bool{}
	}
	w.corrected[uid] = true
}

// recordForeign keeps the recent foreign changes of an object that each
// followed a correction of ours, and marks a fight when one manager made
// FightChanges of them within FightWindow: the object flips back and forth.
func (w *Watcher) recordForeign(uid string, c Change, fields []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.history == nil {
		w.history = map[string][]stamp{}
		w.fights = map[string]Fight{}
	}
	if w.corrected == nil {
		w.corrected = map[string]bool{}
	}
	// A change that did not undo a correction of ours is drift, not a flip.
	if len(w.history[uid]) > 0 && !w.corrected[uid] {
		return
	}
	w.corrected[uid] = false
	now := time.Now()
	var keep []stamp
	for _, s := range w.history[uid] {
		if now.Sub(s.at) < FightWindow {
			keep = append(keep, s)
		}
	}
	keep = append(keep, stamp{at: now, manager: c.Manager, subres: c.Subresource})
	w.history[uid] = keep
	n := 0
	for _, s := range keep {
		if s.manager == c.Manager && s.subres == c.Subresource {
			n++
		}
	}
	if n >= FightChanges {
		w.fights[c.Object] = Fight{Manager: c.Manager, Subresource: c.Subresource, Fields: fields}
	}
}

// changedEntries returns the managedFields entries of cur that differ
// from old (new entries included).
func changedEntries(old, cur []metav1.ManagedFieldsEntry) []metav1.ManagedFieldsEntry {
	var out []metav1.ManagedFieldsEntry
	for _, c := range cur {
		same := false
		for _, o := range old {
			if o.Manager == c.Manager && o.Operation == c.Operation && o.Subresource == c.Subresource {
				same = equality.Semantic.DeepEqual(o, c)
				break
			}
		}
		if !same {
			out = append(out, c)
		}
	}
	return out
}

// fieldPaths lists the leaf field paths of an entry in dotted form,
// keeping only plain map keys ("f:spec" "f:replicas" -> spec.replicas).
func fieldPaths(e metav1.ManagedFieldsEntry) []string {
	if e.FieldsV1 == nil {
		return nil
	}
	var tree map[string]any
	if err := json.Unmarshal(e.FieldsV1.Raw, &tree); err != nil {
		return nil
	}
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		leaf := true
		for k, v := range m {
			if k == "." {
				continue
			}
			if !strings.HasPrefix(k, "f:") {
				// List items (k:, v:, i:) are named by their parent path.
				if prefix != "" {
					out = append(out, prefix)
				}
				leaf = false
				continue
			}
			leaf = false
			p := strings.TrimPrefix(k, "f:")
			if prefix != "" {
				p = prefix + "." + p
			}
			child, _ := v.(map[string]any)
			if len(child) == 0 {
				out = append(out, p)
				continue
			}
			walk(p, child)
		}
		if leaf && prefix != "" {
			out = append(out, prefix)
		}
	}
	walk("", tree)
	sort.Strings(out)
	return dedupe(out)
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// String describes a fight for events and conditions.
func (f Fight) String() string {
	who := fmt.Sprintf("field manager %q", f.Manager)
	if f.Subresource != "" {
		who += fmt.Sprintf(" (through the %s subresource)", f.Subresource)
	}
	return fmt.Sprintf("%s keeps changing %s", who, strings.Join(f.Fields, ", "))
}

// Lookup reports whether an object with the owner label exists, as the
// watch cache of its kind says; known is false while that kind is not
// watched or not synced yet. An object without the owner label (made by
// kubectl, say) is never in the cache.
func (w *Watcher) Lookup(gvk schema.GroupVersionKind, namespace, name string) (exists, known bool) {
	w.mu.Lock()
	inf, ok := w.informers[gvk]
	w.mu.Unlock()
	if !ok || !inf.HasSynced() {
		return false, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	_, exists, err := inf.GetStore().GetByKey(key)
	if err != nil {
		return false, false
	}
	return exists, true
}
