package ui

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/catalog"
)

// Statuses an object can be in, as the overview counts them.
const (
	StatusReady       = "Ready"
	StatusFailed      = "Failed"
	StatusSuspended   = "Suspended"
	StatusStalled     = "Stalled"
	StatusProgressing = "Progressing"
)

var statuses = []string{StatusReady, StatusFailed, StatusSuspended, StatusStalled, StatusProgressing}

// row is one object as a list shows it.
type row struct {
	Kind      string // slug, e.g. "kustomization"
	Namespace string
	Name      string
	Status    string
	Message   string
	Revision  string
	Created   time.Time
	obj       client.Object // the cached object, read-only
}

func slug(k catalog.Kind) string { return strings.ToLower(k.GVK.Kind) }

func conditionsOf(obj client.Object) []metav1.Condition {
	if g, ok := obj.(interface{ GetConditions() []metav1.Condition }); ok {
		return g.GetConditions()
	}
	return nil
}

// statusOf sums an object up: suspended first (it is not reconciled), then
// stalled (it needs a human), then Ready's status.
func statusOf(obj client.Object) (status, message string) {
	conds := conditionsOf(obj)
	ready := apimeta.FindStatusCondition(conds, meta.ReadyCondition)
	if ready != nil {
		message = ready.Message
	}
	switch {
	case catalog.Suspended(obj):
		return StatusSuspended, message
	case apimeta.IsStatusConditionTrue(conds, meta.StalledCondition):
		return StatusStalled, apimeta.FindStatusCondition(conds, meta.StalledCondition).Message
	case ready == nil || ready.Status == metav1.ConditionUnknown:
		return StatusProgressing, message
	case ready.Status == metav1.ConditionTrue:
		return StatusReady, message
	}
	return StatusFailed, message
}

// toRows turns the objects q's filters keep into rows; a filtered list
// of thousands of objects sums up only those that match, the name filter
// first (it needs no status). The revision is left to fillRevisions, for
// the rows a page shows.
func (q query) toRows(k catalog.Kind, objs []client.Object) []row {
	var rows []row
	kind := slug(k)
	for _, o := range objs {
		if q.Name != "" && !strings.Contains(o.GetName(), q.Name) {
			continue
		}
		st, msg := statusOf(o)
		if q.Status != "" && st != q.Status {
			continue
		}
		rows = append(rows, row{Kind: kind, Namespace: o.GetNamespace(), Name: o.GetName(), Status: st,
			Message: msg, Created: o.GetCreationTimestamp().Time, obj: o})
	}
	return rows
}

// fillRevisions reads the revision of each row's object.
func fillRevisions(k catalog.Kind, rows []row) {
	for i := range rows {
		if rows[i].obj != nil {
			rows[i].Revision = k.Revision(rows[i].obj)
		}
	}
}

// list reads every object of k in namespace ns ("" = the UI's scope) from the cache.
func (s *Server) list(ctx context.Context, k catalog.Kind, ns string) ([]client.Object, error) {
	if ns == "" {
		ns = s.scope
	}
	items, err := s.cached(ctx, k, ns)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	seen := map[string]bool{} // per namespace: may the viewer list k there
	for _, o := range items {
		ok, asked := seen[o.GetNamespace()]
		if !asked {
			ok = s.visible(ctx, "list", k.GVK.Group, k.Resource(), o.GetNamespace())
			seen[o.GetNamespace()] = ok
		}
		if ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// query is a list view: filters, sort and page, all from the URL.
type query struct {
	Namespace, Status, Name, Sort string
	Page                          int
}

const pageSize = 50

// apply filters and sorts rows and returns the page asked for and the
// number of pages.
func (q query) apply(rows []row) ([]row, int) {
	rows = slices.DeleteFunc(rows, func(r row) bool {
		return q.Status != "" && r.Status != q.Status ||
			q.Name != "" && !strings.Contains(r.Name, q.Name)
	})
	less := func(a, b row) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	}
	by := map[string]func(a, b row) int{
		"name":   func(a, b row) int { return cmp.Or(cmp.Compare(a.Name, b.Name), less(a, b)) },
		"status": func(a, b row) int { return cmp.Or(cmp.Compare(a.Status, b.Status), less(a, b)) },
		"age":    func(a, b row) int { return cmp.Or(b.Created.Compare(a.Created), less(a, b)) },
	}
	f := less
	if g, ok := by[strings.TrimPrefix(q.Sort, "-")]; ok {
		f = g
	}
	if strings.HasPrefix(q.Sort, "-") {
		slices.SortStableFunc(rows, func(a, b row) int { return f(b, a) })
	} else {
		slices.SortStableFunc(rows, f)
	}
	pages := max(1, (len(rows)+pageSize-1)/pageSize)
	page := min(max(q.Page, 1), pages)
	return rows[(page-1)*pageSize : min(page*pageSize, len(rows))], pages
}

// cached returns the cached objects of k in ns ("" = all), the cache's
// own, never to be modified: the pages only read, and 5,000 objects
// copied into a List per request would be megabytes of garbage each.
func (s *Server) cached(ctx context.Context, k catalog.Kind, ns string) ([]client.Object, error) {
	if st, ok := s.stores[k.GVK.Kind]; ok {
		var items []any
		if ns == "" {
			items = st.List()
		} else {
			var err error
			if items, err = st.ByIndex(toolscache.NamespaceIndex, ns); err != nil {
				return nil, err
			}
		}
		out := make([]client.Object, 0, len(items))
		for _, it := range items {
			if o, ok := it.(client.Object); ok {
				out = append(out, o)
			}
		}
		return out, nil
	}
	l := k.NewList()
	if err := s.reader.List(ctx, l, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	items, err := apimeta.ExtractList(l)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		out = append(out, it.(client.Object))
	}
	return out, nil
}
