package kustomize

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"
)

// newKustomizer is the kustomize every build runs: legacy order, no
// load restrictions inside the in-memory artifact, no plugins.
func newKustomizer() *krusty.Kustomizer {
	return krusty.MakeKustomizer(&krusty.Options{
		Reorder:          krusty.ReorderOptionLegacy,
		LoadRestrictions: types.LoadRestrictionsNone,
		PluginConfig:     types.DisabledPluginConfig(),
	})
}

// chunked is the output of a build made in chunks.
type chunked struct {
	resources []*resource.Resource
	decrypted bool
}

// buildChunked builds root, a folder without a kustomization file, in
// chunks when planChunks allows it (see chunkMin); ok is false when it
// must be one build, which any failure also leaves to: the error is then
// kustomize's own for the whole folder. Files are read through the
// decryptor as kustomize would read them.
func buildChunked(fsys filesys.FileSystem, root string, o Options) (out chunked, ok bool) {
	read := fsys
	var dfs *decryptingFS
	if o.Decryptor != nil {
		dfs = &decryptingFS{FileSystem: fsys, dec: o.Decryptor}
		read = dfs
	}
	p, ok, err := planChunks(fsys, read, root, o)
	if err != nil || !ok {
		return out, false
	}
	if dfs != nil {
		out.decrypted = dfs.anyDecrypted()
	}
	for _, c := range p.chunks {
		cfs, kus, err := p.chunkFS(c)
		if err != nil {
			return out, false
		}
		if err := overlayOn(cfs, root, kus, o); err != nil {
			return out, false
		}
		m, err := newKustomizer().Run(cfs, root)
		if err != nil {
			return out, false
		}
		out.resources = append(out.resources, m.Resources()...)
	}
	if err := legacyOrder(out.resources); err != nil {
		return out, false
	}
	return out, true
}

// legacyOrder sorts objects built in chunks as kustomize's legacy order
// sorts one build: by kind, in the rank kustomize itself gives the kinds
// (see kindRanks), then within a kind by kustomize's legacy id string
// (namespace, then name).
func legacyOrder(res []*resource.Resource) error {
	type key struct {
		rank int
		id   string
	}
	gvks := make([]resid.Gvk, len(res))
	for i, r := range res {
		gvks[i] = r.GetGvk()
	}
	ranks, err := kindRanks(gvks)
	if err != nil {
		return err
	}
	keys := make(map[*resource.Resource]key, len(res))
	for i, r := range res {
		ns, name := r.GetNamespace(), r.GetName()
		if ns == "" {
			ns = "~X"
		}
		if name == "" {
			name = "~N"
		}
		keys[r] = key{ranks[gvks[i]], ns + "|" + name}
	}
	sort.SliceStable(res, func(i, j int) bool {
		a, b := keys[res[i]], keys[res[j]]
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.id < b.id
	})
	return nil
}

// kindRanks ranks the kinds of gvks in kustomize's legacy order, read
// from a kustomize build of one stand-in object of each kind.
func kindRanks(gvks []resid.Gvk) (map[resid.Gvk]int, error) {
	seen := map[resid.Gvk]bool{}
	var docs []string
	for _, g := range gvks {
		if seen[g] {
			continue
		}
		seen[g] = true
		b, err := yaml.Marshal(map[string]any{
			"apiVersion": g.ApiVersion(),
			"kind":       g.Kind,
			"metadata":   map[string]any{"name": "rank"},
		})
		if err != nil {
			return nil, err
		}
		docs = append(docs, string(b))
	}
	fsys := filesys.MakeFsInMemory()
	if err := fsys.WriteFile("/kinds.yaml", []byte(strings.Join(docs, "---\n"))); err != nil {
		return nil, err
	}
	if err := fsys.WriteFile("/kustomization.yaml", []byte("resources:\n- kinds.yaml\n")); err != nil {
		return nil, err
	}
	m, err := newKustomizer().Run(fsys, "/")
	if err != nil {
		return nil, fmt.Errorf("ordering the build's kinds: %w", err)
	}
	ranks := make(map[resid.Gvk]int, len(seen))
	for i, r := range m.Resources() {
		ranks[r.GetGvk()] = i
	}
	if len(ranks) != len(seen) {
		return nil, fmt.Errorf("ordering the build's kinds: %d kinds in, %d out", len(seen), len(ranks))
	}
	return ranks, nil
}
