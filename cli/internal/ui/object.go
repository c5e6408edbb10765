package ui

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"gotk.dev/cli/internal/catalog"
	helmv2 "gotk.dev/pkg/apis/helm/v2"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// link is an object named on a page, with its page's URL when it has one.
type link struct{ Kind, Namespace, Name, URL string }

// chain is source → artifact → applied revision.
type chain struct {
	Source                    *link
	ArtifactRevision, Digest  string
	AppliedRevision, Revision string
}

// object shows one object: status, conditions, the revision chain,
// history, events, YAML and the actions the identity may take.
func (s *Server) object(w http.ResponseWriter, r *http.Request) {
	k, ok := s.kind(w, r)
	if !ok {
		return
	}
	key := client.ObjectKey{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	obj := k.New()
	if err := s.readVisible(r.Context(), k, key, obj); err != nil {
		code := http.StatusInternalServerError
		if apierrors.IsNotFound(err) || s.scope != "" && key.Namespace != s.scope {
			code = http.StatusNotFound
		}
		http.Error(w, fmt.Sprintf("%s %s: not found", k.GVK.Kind, key), code)
		return
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	st, _ := statusOf(obj)
	mayPatch, err := s.mayPatch(r.Context(), k, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	cliKind := strings.Join(k.Words, " ")
	hist, inv := history(u), inventory(u)
	s.inventoryHealth(r.Context(), inv)
	data := map[string]any{
		"Kind": k.GVK.Kind, "Slug": slug(k), "Namespace": key.Namespace, "Name": key.Name,
		"Status": st, "Suspended": catalog.Suspended(obj), "Reconcilable": k.Reconcilable,
		"Conditions": conditionsOf(obj), "Chain": s.chain(r.Context(), k, obj, u),
		"History": hist, "Inventory": inv, "Events": s.objectEvents(r.Context(), k, key),
		"YAML": objectYAML(u), "MayPatch": mayPatch, "Done": r.URL.Query().Get("done"),
		"CLI": fmt.Sprintf("gotk -n %s %%s %s %s", key.Namespace, cliKind, key.Name),
	}
	// Two history entries side by side: by default the previous and the latest.
	from, to := indexParam(r.URL.Query().Get("from"), 1), indexParam(r.URL.Query().Get("to"), 0)
	data["From"], data["To"], data["Diff"] = from, to, historyDiff(hist, from, to)
	switch o := obj.(type) {
	case *helmv2.HelmRelease:
		data["Values"], data["Rollback"] = s.releaseValues(r.Context(), o), helmReleaseRollback(o)
	case *kustomizev1.Kustomization:
		data["Rollback"] = kustomizationRollback(o)
	}
	s.render(w, r, "object", k.GVK.Kind+" "+key.String(), data)
}

// chain follows the object to its source and reads the artifact there.
func (s *Server) chain(ctx context.Context, k catalog.Kind, obj client.Object, u map[string]any) chain {
	c := chain{Revision: k.Revision(obj)}
	c.ArtifactRevision, _, _ = unstructured.NestedString(u, "status", "artifact", "revision")
	c.Digest, _, _ = unstructured.NestedString(u, "status", "artifact", "digest")
	srcKind, ns, name, found := sourceOf(k, obj, u)
	if !found {
		return c
	}
	c.AppliedRevision = c.Revision
	c.Source = &link{Kind: srcKind, Namespace: ns, Name: name}
	sk, err := catalog.ByKind(srcKind)
	if err != nil {
		return c
	}
	src := sk.New()
	if s.readVisible(ctx, sk, client.ObjectKey{Namespace: ns, Name: name}, src) != nil {
		return c
	}
	c.Source.URL = fmt.Sprintf("/objects/%s/%s/%s", slug(sk), ns, name)
	// An object with its own artifact (a HelmChart) shows that one.
	if su, err := runtime.DefaultUnstructuredConverter.ToUnstructured(src); err == nil && c.Digest == "" {
		c.ArtifactRevision, _, _ = unstructured.NestedString(su, "status", "artifact", "revision")
		c.Digest, _, _ = unstructured.NestedString(su, "status", "artifact", "digest")
	}
	return c
}

// sourceOf names the object the given one takes its artifact from: a
// Kustomization's sourceRef, a HelmChart's sourceRef, a HelmRelease's
// HelmChart (named in its status) or chartRef.
func sourceOf(k catalog.Kind, obj client.Object, u map[string]any) (kind, ns, name string, ok bool) {
	if k.Source != nil {
		return k.Source(obj)
	}
	if k.GVK.Kind == "HelmChart" {
		ref, found, _ := unstructured.NestedStringMap(u, "spec", "sourceRef")
		return ref["kind"], obj.GetNamespace(), ref["name"], found
	}
	if hc, _, _ := unstructured.NestedString(u, "status", "helmChart"); hc != "" {
		// A HelmRelease's chart is built by a HelmChart named in its status.
		if nsName := strings.SplitN(hc, "/", 2); len(nsName) == 2 {
			return "HelmChart", nsName[0], nsName[1], true
		}
	}
	if ref, found, _ := unstructured.NestedStringMap(u, "spec", "chartRef"); found {
		return ref["kind"], cmpOr(ref["namespace"], obj.GetNamespace()), ref["name"], true
	}
	return "", "", "", false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// entry is one status.history item as key/value pairs in a stable order.
type entry [][2]string

// history reads status.history (Kustomization and HelmRelease) generically.
func history(u map[string]any) []entry {
	items, _, _ := unstructured.NestedSlice(u, "status", "history")
	var out []entry
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		keys := make([]string, 0, len(m))
		for key := range m {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		var e entry
		for _, key := range keys {
			v := m[key]
			if _, nested := v.(map[string]any); nested {
				b, _ := yaml.Marshal(v)
				e = append(e, [2]string{key, strings.TrimSpace(string(b))})
				continue
			}
			e = append(e, [2]string{key, fmt.Sprint(v)})
		}
		out = append(out, e)
	}
	return out
}

// item is one inventory entry: what was applied, with a page when it is
// itself a Flux object.
type item struct {
	catalog.InventoryEntry
	Version, URL string
	// Health is the object's kstatus; HealthMessage says why.
	Health, HealthMessage string
}

// inventory reads status.inventory.entries (Kustomization and HelmRelease).
func inventory(u map[string]any) []item {
	entries, _, _ := unstructured.NestedSlice(u, "status", "inventory", "entries")
	var out []item
	for _, e := range entries {
		m, _ := e.(map[string]any)
		id, _ := m["id"].(string)
		ref, err := catalog.ParseInventoryID(id)
		if err != nil {
			continue
		}
		it := item{InventoryEntry: ref}
		it.Version, _ = m["v"].(string)
		if k, err := catalog.ByKind(ref.Kind); err == nil && k.GVK.Group == ref.Group {
			it.URL = fmt.Sprintf("/objects/%s/%s/%s", slug(k), ref.Namespace, ref.Name)
		}
		out = append(out, it)
	}
	return out
}

// objectEvents reads the object's events from the API server (the cache
// keeps warnings only), newest first.
func (s *Server) objectEvents(ctx context.Context, k catalog.Kind, key client.ObjectKey) []corev1.Event {
	var l corev1.EventList
	sel := fields.SelectorFromSet(fields.Set{"involvedObject.kind": k.GVK.Kind, "involvedObject.name": key.Name})
	if s.client(ctx).List(ctx, &l, client.InNamespace(key.Namespace), client.MatchingFieldsSelector{Selector: sel}) != nil {
		return nil
	}
	sort.Slice(l.Items, func(i, j int) bool { return eventTime(l.Items[i]).After(eventTime(l.Items[j])) })
	return l.Items
}

// readVisible reads an object from the cache if the request's viewer may
// get it; otherwise it is not found, as the API server would say.
func (s *Server) readVisible(ctx context.Context, k catalog.Kind, key client.ObjectKey, obj client.Object) error {
	if !s.visible(ctx, "get", k.GVK.Group, k.Resource(), key.Namespace) {
		return apierrors.NewNotFound(schema.GroupResource{Group: k.GVK.Group, Resource: k.Resource()}, key.Name)
	}
	return s.reader.Get(ctx, key, obj)
}

// objectYAML is the object as YAML without managedFields (noise to a reader).
func objectYAML(u map[string]any) string {
	u = runtime.DeepCopyJSON(u)
	unstructured.RemoveNestedField(u, "metadata", "managedFields")
	b, err := yaml.Marshal(u)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// mayPatch asks the API server whether the identity may patch the object,
// which reconcile, suspend and resume all do.
func (s *Server) mayPatch(ctx context.Context, k catalog.Kind, key client.ObjectKey) (bool, error) {
	if s.viewerOf(ctx).readOnly {
		return false, nil
	}
	return s.allowed(ctx, authorizationv1.ResourceAttributes{Verb: "patch", Group: k.GVK.Group,
		Resource: k.Resource(), Namespace: key.Namespace, Name: key.Name})
}

// actions are what the UI can do to an object: the event reason it
// records and what it says was done.
var actions = map[string]struct{ reason, done string }{
	"reconcile": {"ReconcileRequested", "reconcile requested"},
	"suspend":   {"Suspended", "suspended"},
	"resume":    {"Resumed", "resumed"},
}

// action runs reconcile, suspend or resume, as the CLI commands of the
// same name do (without waiting: the page updates live).
func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	k, ok := s.kind(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	key := client.ObjectKey{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	act := r.PathValue("action")
	if _, ok := actions[act]; !ok {
		http.Error(w, fmt.Sprintf("unknown action %q", act), http.StatusNotFound)
		return
	}
	allowed, err := s.mayPatch(r.Context(), k, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if !allowed {
		http.Error(w, fmt.Sprintf("forbidden: you may not patch %s %s", k.GVK.Kind, key), http.StatusForbidden)
		return
	}
	obj := k.New()
	if err := s.client(ctx).Get(r.Context(), key, obj); err != nil {
		http.Error(w, fmt.Sprintf("%s %s: %v", k.GVK.Kind, key, err), http.StatusNotFound)
		return
	}
	switch {
	case act == "reconcile" && catalog.Suspended(obj):
		err = fmt.Errorf("%s %s is suspended: resume it first", k.GVK.Kind, key)
	case act == "reconcile" && !k.Reconcilable:
		err = fmt.Errorf("%s objects have no reconciler", k.GVK.Kind)
	case act == "reconcile":
		_, err = catalog.RequestReconcile(r.Context(), s.client(ctx), obj)
	default:
		err = catalog.SetSuspend(r.Context(), s.client(ctx), obj, act == "suspend")
		if err == nil && act == "resume" && k.Reconcilable {
			_, err = catalog.RequestReconcile(r.Context(), s.client(ctx), obj)
		}
	}
	if err != nil {
		code := http.StatusConflict
		if apierrors.IsForbidden(err) {
			code = http.StatusForbidden
		}
		http.Error(w, err.Error(), code)
		return
	}
	a := actions[act]
	if err := s.record(r.Context(), obj, k.GVK.GroupVersion().String(), k.GVK.Kind, a.reason, a.done); err != nil {
		log.FromContext(r.Context()).Error(err, "recording the action as an event")
	}
	http.Redirect(w, r, fmt.Sprintf("/objects/%s/%s/%s?done=%s", slug(k), key.Namespace, key.Name, act), http.StatusSeeOther)
}
