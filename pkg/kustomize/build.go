package kustomize

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/apis/kustomize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	"gotk.dev/pkg/artifact/securepath"
)

// Output bounds, used for zero-valued Limits fields.
const (
	DefaultMaxObjects     = 20000
	DefaultMaxOutputBytes = int64(64 << 20)
)

// Limits bounds what one build may produce.
type Limits struct {
	// MaxObjects bounds the number of objects (0: DefaultMaxObjects).
	MaxObjects int
	// MaxOutputBytes bounds the YAML size of the output (0: DefaultMaxOutputBytes).
	MaxOutputBytes int64
}

// Options are the Kustomization fields the build honours.
type Options struct {
	// Path is spec.path, relative to the artifact root ("" or "./" = root).
	Path string
	// TargetNamespace sets the namespace of every namespaced object.
	TargetNamespace string
	// NamePrefix and NameSuffix rename every object.
	NamePrefix, NameSuffix string
	// Patches are strategic-merge or JSON6902 patches with optional targets.
	Patches []kustomize.Patch
	// Images override image names, tags and digests.
	Images []kustomize.Image
	// Components are kustomize components relative to Path.
	Components []string
	// IgnoreMissingComponents drops components that do not exist.
	IgnoreMissingComponents bool
	// BuildMetadata is kustomize's buildMetadata (originAnnotations,
	// transformerAnnotations): annotations saying where each object and
	// its changes come from.
	BuildMetadata []string
	// CommonMetadata labels and annotations are set on every object.
	CommonMetadata *kustomizev1.CommonMetadata
	// Limits bounds the output.
	Limits Limits
	// Decryptor, when set, decrypts SOPS-encrypted files as they are
	// read; without one, encrypted files are built as they are.
	Decryptor FileDecryptor
	// AllowRemoteBases lets kustomize's own loader fetch remote bases
	// (Git repositories with the git program, HTTP files); they are
	// refused otherwise (--no-remote-bases).
	AllowRemoteBases bool
	// Substitution, when set, substitutes variables in every object
	// (spec.postBuild; see PostBuildSubstitution).
	Substitution *Substitution
}

// OptionsFromSpec returns the build options of a Kustomization spec.
func OptionsFromSpec(spec *kustomizev1.KustomizationSpec) Options {
	return Options{
		Path:                    spec.Path,
		TargetNamespace:         spec.TargetNamespace,
		NamePrefix:              spec.NamePrefix,
		NameSuffix:              spec.NameSuffix,
		Patches:                 spec.Patches,
		Images:                  spec.Images,
		Components:              spec.Components,
		IgnoreMissingComponents: spec.IgnoreMissingComponents,
		CommonMetadata:          spec.CommonMetadata,
		BuildMetadata:           spec.BuildMetadata,
	}
}

// ErrPath is wrapped when spec.path is invalid or missing; retrying the
// same artifact cannot help.
var ErrPath = errors.New("invalid path")

// Build runs kustomize over files at o.Path and returns the objects in
// the order kustomize emits them.
func Build(files *Files, o Options) ([]*unstructured.Unstructured, error) {
	out, err := build(files, o)
	return out.objects, err
}

// built is the output of one build.
type built struct {
	objects []*unstructured.Unstructured
	// json is each object's JSON.
	json [][]byte
	// remote is set when the build may have read something outside the
	// artifact (an allowed remote base): its output can change while the
	// artifact does not.
	remote bool
	// decrypted is set when a file was decrypted.
	decrypted bool
}

func build(files *Files, o Options) (out built, err error) {
	// Malformed input must fail the build, never the controller.
	defer func() {
		if p := recover(); p != nil {
			out, err = built{}, fmt.Errorf("kustomize build of %q failed on malformed input: %v", o.Path, p)
		}
	}()
	dir, err := cleanPath(o.Path)
	if err != nil {
		return out, err
	}
	if o.Substitution != nil {
		if err := o.Substitution.validate(); err != nil {
			return out, err
		}
	}
	fsys, err := files.fileSystem()
	if err != nil {
		return out, err
	}
	root := "/" + dir
	if dir == "." {
		root = "/"
	}
	if !fsys.IsDir(root) {
		return out, fmt.Errorf("%w: path %q not found in the artifact", ErrPath, o.Path)
	}
	if kustomizationFile(fsys, root) == "" {
		if c, ok := buildChunked(fsys, root, o); ok {
			out.decrypted = c.decrypted
			out.objects, out.json, err = toObjects(c.resources, o)
			return out, err
		}
	}
	if err := overlay(fsys, root, o); err != nil {
		return out, err
	}
	if out.remote, err = checkRemote(fsys, root, map[string]bool{}, o.AllowRemoteBases); err != nil {
		return out, err
	}
	if o.AllowRemoteBases && !out.remote {
		// Any file kustomize loads (a patch, a generator's file) may be a URL.
		out.remote = mentionsURL(files)
	}
	if o.AllowRemoteBases {
		fsys = withClones(fsys)
	}
	k := newKustomizer()
	var dfs *decryptingFS
	if o.Decryptor != nil {
		dfs = &decryptingFS{FileSystem: fsys, dec: o.Decryptor}
		fsys = dfs
	}
	m, err := k.Run(fsys, root)
	if dfs != nil {
		// kustomize rewraps read errors; report the decryption failure itself.
		if derr := dfs.firstError(); derr != nil {
			return out, decryptError{derr}
		}
		out.decrypted = dfs.anyDecrypted()
	}
	if err != nil {
		return out, explain(fsys, root, err)
	}
	out.objects, out.json, err = toObjects(m.Resources(), o)
	return out, err
}

// mentionsURL reports whether a kustomization file of the artifact names
// a URL.
func mentionsURL(files *Files) bool {
	for p, b := range files.files {
		switch path.Base(p) {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			if bytes.Contains(b, []byte("://")) {
				return true
			}
		}
	}
	return false
}

// cleanPath validates spec.path: relative, inside the artifact.
func cleanPath(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return ".", nil
	}
	c, err := securepath.Clean(p)
	if err != nil {
		return "", fmt.Errorf("%w: spec.path: %v", ErrPath, err)
	}
	return c, nil
}

// kustomizationFile returns the kustomization file in dir, "" if none.
func kustomizationFile(fsys filesys.FileSystem, dir string) string {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		p := path.Join(dir, n)
		if fsys.Exists(p) && !fsys.IsDir(p) {
			return p
		}
	}
	return ""
}

// overlay writes the Kustomization's fields into the kustomization file at
// root, generating one first when the folder has none.
func overlay(fsys filesys.FileSystem, root string, o Options) error {
	return overlayOn(fsys, root, nil, o)
}

// overlayOn is overlay starting from kus, when not nil, as the folder's
// generated kustomization.
func overlayOn(fsys filesys.FileSystem, root string, base *types.Kustomization, o Options) error {
	kfile := kustomizationFile(fsys, root)
	var kus types.Kustomization
	if base != nil {
		kus = *base
		kfile = path.Join(root, "kustomization.yaml")
	} else if kfile == "" {
		gen, err := generate(fsys, root)
		if err != nil {
			return err
		}
		kus = gen
		kfile = path.Join(root, "kustomization.yaml")
	} else {
		b, err := fsys.ReadFile(kfile)
		if err != nil {
			return err
		}
		if err := yaml.Unmarshal(b, &kus); err != nil {
			return fmt.Errorf("%s: %w", rel(kfile), err)
		}
	}
	if kus.APIVersion == "" {
		kus.APIVersion = types.KustomizationVersion
	}
	if kus.Kind == "" {
		kus.Kind = types.KustomizationKind
	}
	if o.TargetNamespace != "" {
		kus.Namespace = o.TargetNamespace
	}
	if o.NamePrefix != "" {
		kus.NamePrefix = o.NamePrefix
	}
	if o.NameSuffix != "" {
		kus.NameSuffix = o.NameSuffix
	}
	for _, p := range o.Patches {
		tp := types.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			tp.Target = &types.Selector{
				ResId: resid.ResId{
					Gvk:       resid.Gvk{Group: t.Group, Version: t.Version, Kind: t.Kind},
					Name:      t.Name,
					Namespace: t.Namespace,
				},
				AnnotationSelector: t.AnnotationSelector,
				LabelSelector:      t.LabelSelector,
			}
		}
		kus.Patches = append(kus.Patches, tp)
	}
	for _, m := range o.BuildMetadata {
		if !slices.Contains(kus.BuildMetadata, m) {
			kus.BuildMetadata = append(kus.BuildMetadata, m)
		}
	}
	for _, im := range o.Images {
		kus.Images = append(kus.Images, types.Image{Name: im.Name, NewName: im.NewName, NewTag: im.NewTag, Digest: im.Digest})
	}
	for _, c := range o.Components {
		cp, err := securepath.Clean(path.Join(strings.TrimPrefix(root, "/"), c))
		if err != nil || !fsys.Exists("/"+cp) {
			if o.IgnoreMissingComponents {
				continue
			}
			return fmt.Errorf("component %q not found in the artifact (set ignoreMissingComponents to skip missing components)", c)
		}
		if _, err := checkRemote(fsys, "/"+cp, map[string]bool{}, o.AllowRemoteBases); err != nil {
			return err
		}
		kus.Components = append(kus.Components, c)
	}
	b, err := yaml.Marshal(&kus)
	if err != nil {
		return err
	}
	return fsys.WriteFile(kfile, b)
}

// toObjects converts kustomize's output, applies commonMetadata, then
// the substitution, and enforces the output bounds.
func toObjects(res []*resource.Resource, o Options) ([]*unstructured.Unstructured, [][]byte, error) {
	maxObjects := o.Limits.MaxObjects
	if maxObjects <= 0 {
		maxObjects = DefaultMaxObjects
	}
	maxBytes := o.Limits.MaxOutputBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxOutputBytes
	}
	if len(res) > maxObjects {
		return nil, nil, fmt.Errorf("build output has %d objects, more than the limit of %d", len(res), maxObjects)
	}
	var total int64
	out := make([]*unstructured.Unstructured, 0, len(res))
	raw := make([][]byte, 0, len(res))
	for _, r := range res {
		if cm := o.CommonMetadata; cm != nil {
			if err := setMetadata(r, cm); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", r.CurId(), err)
			}
		}
		// Through JSON so values have the types of any decoded object
		// (int64, not int), which deep copies and comparisons rely on.
		b, err := objectJSON(r, o.Substitution)
		if err != nil {
			return nil, nil, err
		}
		if total += int64(len(b)); total > maxBytes {
			return nil, nil, fmt.Errorf("build output exceeds the limit of %d bytes", maxBytes)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		out = append(out, u)
		raw = append(raw, b)
	}
	return out, raw, nil
}

// objectJSON is one object's JSON, substituted through its YAML (which
// keeps the sources' quoting) unless s is nil or the object opts out.
func objectJSON(r *resource.Resource, s *Substitution) ([]byte, error) {
	if s == nil || Disabled(r.GetLabels(), r.GetAnnotations()) {
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		return b, nil
	}
	ref := resourceRef(r)
	y, err := r.AsYAML()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	text, err := s.Text(string(y))
	if err != nil {
		return nil, fmt.Errorf("post build failed for %s: %w", ref, err)
	}
	b, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("post build failed for %s: the substituted object is not valid YAML: %w", ref, err)
	}
	return b, nil
}

// resourceRef names a built object as users read it (see ObjectRef).
func resourceRef(r *resource.Resource) string {
	if ns := r.GetNamespace(); ns != "" {
		return r.GetKind() + "/" + ns + "/" + r.GetName()
	}
	return r.GetKind() + "/" + r.GetName()
}

// ObjectRef names an object as users read it: Kind/namespace/name or
// Kind/name for cluster-scoped objects.
func ObjectRef(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + "/" + ns + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetName()
}

// setMetadata adds commonMetadata's labels and annotations to r.
func setMetadata(r *resource.Resource, cm *kustomizev1.CommonMetadata) error {
	if len(cm.Labels) > 0 {
		l := r.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		for k, v := range cm.Labels {
			l[k] = v
		}
		if err := r.SetLabels(l); err != nil {
			return err
		}
	}
	if len(cm.Annotations) > 0 {
		a := r.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		for k, v := range cm.Annotations {
			a[k] = v
		}
		if err := r.SetAnnotations(a); err != nil {
			return err
		}
	}
	return nil
}

// rel turns an in-memory absolute path into the artifact-relative form
// users see.
func rel(p string) string {
	r := strings.TrimPrefix(p, "/")
	if r == "" {
		return "."
	}
	return r
}
