package ui

import (
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"gotk.dev/cli/internal/catalog"
)

// gnode is one object in the graph with what takes its artifact.
type gnode struct {
	Kind, Namespace, Name, URL, Status string
	Missing                            bool // named as a source but not found
	Children                           []*gnode
}

// dep is one object's dependsOn list.
type dep struct {
	From *gnode
	On   []*gnode
}

// graph shows, across the cluster (or the UI's namespace), each source
// with the HelmCharts, Kustomizations and HelmReleases built from it, as
// nested lists, and every dependsOn edge.
func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	nodes := map[string]*gnode{}
	key := func(kind, ns, name string) string { return kind + "/" + ns + "/" + name }
	node := func(kind, ns, name string) *gnode {
		k := key(kind, ns, name)
		if n, ok := nodes[k]; ok {
			return n
		}
		n := &gnode{Kind: kind, Namespace: ns, Name: name, Missing: true}
		if ck, err := catalog.ByKind(kind); err == nil {
			n.URL = "/objects/" + slug(ck) + "/" + ns + "/" + name
		}
		nodes[k] = n
		return n
	}
	hasParent := map[*gnode]bool{}
	var deps []dep
	for _, k := range s.kinds {
		objs, err := s.list(r.Context(), k, "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for _, o := range objs {
			n := node(k.GVK.Kind, o.GetNamespace(), o.GetName())
			n.Missing = false
			n.Status, _ = statusOf(o)
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
			if err != nil {
				continue
			}
			if sk, ns, name, ok := sourceOf(k, o, u); ok && sk != "" && name != "" {
				p := node(sk, ns, name)
				p.Children = append(p.Children, n)
				hasParent[n] = true
			}
			items, _, _ := unstructured.NestedSlice(u, "spec", "dependsOn")
			d := dep{From: n}
			for _, it := range items {
				m, _ := it.(map[string]any)
				name, _ := m["name"].(string)
				ns, _ := m["namespace"].(string)
				if name != "" {
					d.On = append(d.On, node(k.GVK.Kind, cmpOr(ns, o.GetNamespace()), name))
				}
			}
			if len(d.On) > 0 {
				deps = append(deps, d)
			}
		}
	}
	byName := func(a, b *gnode) int {
		return strings.Compare(key(a.Kind, a.Namespace, a.Name), key(b.Kind, b.Namespace, b.Name))
	}
	var roots []*gnode
	for _, n := range nodes {
		slices.SortFunc(n.Children, byName)
		if !hasParent[n] && (len(n.Children) > 0 || n.Missing) {
			roots = append(roots, n)
		}
	}
	slices.SortFunc(roots, byName)
	slices.SortFunc(deps, func(a, b dep) int { return byName(a.From, b.From) })
	s.render(w, r, "graph", "Graph", map[string]any{"Roots": roots, "Deps": deps})
}
