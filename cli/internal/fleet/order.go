package fleet

import (
	"fmt"
	"slices"
	"strings"
)

// order sorts the nodes so each comes after what it dependsOn (stable:
// discovery order otherwise), and returns findings for dependsOn entries
// naming no Kustomization of the cluster and for each cycle, once.
func order(nodes []*node, byKey map[string]*node) ([]*node, []Finding) {
	var findings []Finding
	deps := map[*node][]*node{}
	for _, n := range nodes {
		for _, dep := range n.ks.Spec.DependsOn {
			ns := dep.Namespace
			if ns == "" {
				ns = n.ks.Namespace
			}
			m, ok := byKey[ns+"/"+dep.Name]
			if !ok {
				findings = append(findings, Finding{
					Class: ClassMissingDependency, Kustomization: n.key(), File: n.declared, Source: n.declaredIn,
					Message: fmt.Sprintf("dependsOn Kustomization %s/%s, which no Kustomization of this cluster declares: it would wait for it forever", ns, dep.Name),
				})
				continue
			}
			deps[n] = append(deps[n], m)
		}
	}
	for _, cycle := range cycles(nodes, deps) {
		names := make([]string, len(cycle))
		for i, n := range cycle {
			names[i] = n.key()
		}
		for _, n := range cycle {
			n.inCycle = true
		}
		first := cycle[0]
		findings = append(findings, Finding{
			Class: ClassCycle, Kustomization: first.key(), File: first.declared, Source: first.declaredIn,
			Message: fmt.Sprintf("dependsOn cycle %s -> %s: none of them would ever be applied", strings.Join(names, " -> "), names[0]),
		})
	}
	// Depth-first post-order gives dependencies first; a cycle is cut
	// where it is met.
	var out []*node
	state := map[*node]int{} // 1 visiting, 2 done
	var visit func(n *node)
	visit = func(n *node) {
		if state[n] != 0 {
			return
		}
		state[n] = 1
		for _, m := range deps[n] {
			visit(m)
		}
		state[n] = 2
		out = append(out, n)
	}
	for _, n := range nodes {
		visit(n)
	}
	return out, findings
}

// cycles returns the strongly connected components that are cycles
// (Tarjan), each starting at its first node in discovery order.
func cycles(nodes []*node, deps map[*node][]*node) [][]*node {
	index, low := map[*node]int{}, map[*node]int{}
	onStack := map[*node]bool{}
	var stack []*node
	var out [][]*node
	next := 0
	var strong func(n *node)
	strong = func(n *node) {
		index[n], low[n] = next, next
		next++
		stack = append(stack, n)
		onStack[n] = true
		for _, m := range deps[n] {
			if _, seen := index[m]; !seen {
				strong(m)
				low[n] = min(low[n], low[m])
			} else if onStack[m] {
				low[n] = min(low[n], index[m])
			}
		}
		if low[n] != index[n] {
			return
		}
		var comp []*node
		for {
			m := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[m] = false
			comp = append(comp, m)
			if m == n {
				break
			}
		}
		if len(comp) > 1 || slices.Contains(deps[n], n) {
			pos := map[*node]int{}
			for i, x := range nodes {
				pos[x] = i
			}
			slices.SortFunc(comp, func(a, b *node) int { return pos[a] - pos[b] })
			out = append(out, comp)
		}
	}
	for _, n := range nodes {
		if _, seen := index[n]; !seen {
			strong(n)
		}
	}
	return out
}
