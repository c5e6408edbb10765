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

func toRow(k catalog.Kind, obj client.Object) row {
	st, msg := statusOf(obj)
	return row{Kind: slug(k), Namespace: obj.GetNamespace(), Name: obj.GetName(), Status: st,
		Message: msg, Revision: k.Revision(obj), Created: obj.GetCreationTimestamp().Time}
}

// list reads every object of k in namespace ns ("" = the UI's scope) from the cache.
func (s *Server) list(ctx context.Context, k catalog.Kind, ns string) ([]client.Object, error) {
	l := k.NewList()
	if ns == "" {
		ns = s.scope
	}
	// The pages only read: no deep copy of every cached object per request.
	if err := s.reader.List(ctx, l, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	items, err := apimeta.ExtractList(l)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	seen := map[string]bool{} // per namespace: may the viewer list k there
	for _, it := range items {
		o := it.(client.Object)
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
