package kustomize

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// generate returns a kustomization for a folder that has none, as Flux
// does: every Kubernetes manifest (*.yaml, *.yml with apiVersion and kind)
// below root, except that a sub-folder holding its own kustomization file
// is included as one resource and not walked into.
func generate(fsys filesys.FileSystem, root string) (types.Kustomization, error) {
	kus := types.Kustomization{TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}}
	err := fsys.Walk(root, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		r := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		if info.IsDir() {
			if kustomizationFile(fsys, p) != "" {
				kus.Resources = append(kus.Resources, r)
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(path.Ext(p))
		if ext != ".yaml" && ext != ".yml" {
			return nil
		}
		b, err := fsys.ReadFile(p)
		if err != nil {
			return err
		}
		if isManifest(b) {
			kus.Resources = append(kus.Resources, r)
		}
		return nil
	})
	return kus, err
}

// isManifest reports whether a YAML file holds at least one Kubernetes
// object (apiVersion and kind) that is not kustomize configuration.
func isManifest(b []byte) bool {
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if err == io.EOF {
			return false
		}
		if err != nil {
			return false
		}
		av, _ := doc["apiVersion"].(string)
		kind, _ := doc["kind"].(string)
		if av == "" || kind == "" {
			continue
		}
		if strings.HasPrefix(av, "kustomize.config.k8s.io/") {
			continue
		}
		return true
	}
}

// yamlDocs splits a multi-document YAML file into objects (empty and
// unparsable documents are skipped).
func yamlDocs(b []byte) []map[string]any {
	var out []map[string]any
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			return out
		}
		if doc != nil {
			out = append(out, doc)
		}
	}
}

// readKustomization parses the kustomization file in dir ("" if none).
func readKustomization(fsys filesys.FileSystem, dir string) (*types.Kustomization, string, error) {
	kfile := kustomizationFile(fsys, dir)
	if kfile == "" {
		return nil, "", nil
	}
	b, err := fsys.ReadFile(kfile)
	if err != nil {
		return nil, kfile, err
	}
	var kus types.Kustomization
	if err := yaml.Unmarshal(b, &kus); err != nil {
		return nil, kfile, err
	}
	kus.FixKustomization()
	return &kus, kfile, nil
}
