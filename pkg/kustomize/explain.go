package kustomize

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// noTarget matches kustomize's error for a strategic-merge patch whose
// object is not in the build, e.g. "failed to find unique target for
// patch HorizontalPodAutoscaler.v2.autoscaling/my-app.[noNs]".
var noTarget = regexp.MustCompile(`failed to find unique target for patch ([A-Za-z0-9]+)(?:\.[^/\s]*)?/([^\s.\[]+)`)

// explain turns kustomize errors users commonly meet into messages that
// name the file at fault and say what to do; others are returned with
// the folder that was built.
func explain(fsys filesys.FileSystem, root string, err error) error {
	msg := err.Error()
	if m := noTarget.FindStringSubmatch(msg); m != nil {
		kind, name := m[1], m[2]
		if file, kfile, field := findPatchFile(fsys, kind, name); file != "" {
			return fmt.Errorf("patch file %q listed under %s in %s has no target: no %s named %q is in the build. "+
				"If it declares a new object, list it under resources instead; if it should change an existing object, fix its kind and name (kustomize: %s)",
				file, field, kfile, kind, name, msg)
		}
		return fmt.Errorf("a patch for %s %q has no target: no such object is in the build; list it under resources if it is a new object (kustomize: %s)", kind, name, msg)
	}
	return fmt.Errorf("kustomize build of %s failed: %s", rel(root), msg)
}

// findPatchFile finds the patch file declaring kind/name among the
// patchesStrategicMerge and patches entries of every kustomization in the
// artifact, and returns its path, the kustomization file and the field.
func findPatchFile(fsys filesys.FileSystem, kind, name string) (file, kfile, field string) {
	_ = fsys.Walk("/", func(p string, info fs.FileInfo, err error) error {
		if err != nil || !info.IsDir() || file != "" {
			return nil
		}
		kus, kf, err := readKustomization(fsys, p)
		if err != nil || kus == nil {
			return nil
		}
		check := func(entry, fieldName string) {
			if file != "" || strings.Contains(entry, "\n") {
				return
			}
			fp := path.Join(p, entry)
			b, err := fsys.ReadFile(fp)
			if err != nil {
				return
			}
			for _, doc := range yamlDocs(b) {
				k, _ := doc["kind"].(string)
				md, _ := doc["metadata"].(map[string]any)
				n, _ := md["name"].(string)
				if k == kind && n == name {
					file, kfile, field = rel(fp), rel(kf), fieldName
					return
				}
			}
		}
		for _, e := range kus.PatchesStrategicMerge {
			check(string(e), "patchesStrategicMerge")
		}
		for _, pt := range kus.Patches {
			if pt.Path != "" && pt.Target == nil {
				check(pt.Path, "patches")
			}
		}
		return nil
	})
	return file, kfile, field
}
