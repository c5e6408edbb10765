package fleet

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/artifact/generator"
	"gotk.dev/pkg/artifact/securepath"
)

// externalArtifactKind is the kind of the sources ArtifactGenerators make.
const externalArtifactKind = "ExternalArtifact"

// generatedTree composes the files of ExternalArtifact key as
// source-controller would: from the output artifact of that name of an
// ArtifactGenerator declared in the repository (in the artifact's
// namespace), its copy operations run over the sources' local trees.
// skip says why it cannot be composed here; err is a copy the
// controller would refuse too.
func (d *discoverer) generatedTree(key, namespace, name string) (t *sourceTree, skip string, err error) {
	gen, out := d.vars.generatorOf(namespace, name)
	var patternErrs []string
	if gen == nil {
		gen, out, patternErrs = d.patternOutput(namespace, name)
	}
	if gen == nil {
		skip := fmt.Sprintf("source %s is not made by an ArtifactGenerator of this repository; map it to a local directory with --source %s=DIR", key, key)
		if len(patternErrs) > 0 {
			skip += " (" + strings.Join(patternErrs, "; ") + ")"
		}
		return nil, skip, nil
	}
	genKey := sourceextv1beta1.ArtifactGeneratorKind + "/" + gen.Namespace + "/" + gen.Name
	dirs := map[string]string{}
	for _, s := range gen.Spec.Sources {
		ns := s.Namespace
		if ns == "" {
			ns = gen.Namespace
		}
		src := sourceKey(s.Kind, ns, s.Name)
		dir, ok := d.dirs[src]
		if !ok {
			return nil, fmt.Sprintf("source %s of %s (which makes %s) is not this repository; map it to a local directory with --source %s=DIR", src, genKey, key, src), nil
		}
		dirs[s.Alias] = dir
	}
	tmp, err := os.MkdirTemp("", "gotk-test-artifact-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(tmp)
	root, err := securepath.OpenRoot(tmp)
	if err != nil {
		return nil, "", err
	}
	defer root.Close()
	var opErr *generator.OpError
	if err := generator.Compose(root, out, dirs); errors.As(err, &opErr) {
		return nil, "", fmt.Errorf("%s artifact '%s' copy[%d]: %w", genKey, out.Name, opErr.Index, opErr.Err)
	} else if err != nil {
		return nil, "", fmt.Errorf("%s artifact '%s': %w", genKey, out.Name, err)
	}
	files, err := loadDir(tmp)
	if err != nil {
		return nil, "", fmt.Errorf("%s artifact '%s': %w", genKey, out.Name, err)
	}
	return &sourceTree{key: key, files: files, index: indexFiles(files)}, "", nil
}

// generatorsIn returns the repository's ArtifactGenerators in namespace.
func (r *repoReader) generatorsIn(namespace string) []*sourceextv1beta1.ArtifactGenerator {
	var gens []*sourceextv1beta1.ArtifactGenerator
	for _, obj := range r.generators {
		if obj.GetNamespace() != namespace {
			continue
		}
		gen := &sourceextv1beta1.ArtifactGenerator{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, gen); err != nil {
			continue // the API server reports the bad field
		}
		gens = append(gens, gen)
	}
	return gens
}

// generatorOf returns the ArtifactGenerator of the repository in
// namespace without a pathPattern whose spec.artifacts has one called
// name, and that artifact.
func (r *repoReader) generatorOf(namespace, name string) (*sourceextv1beta1.ArtifactGenerator, *sourceextv1beta1.OutputArtifact) {
	for _, gen := range r.generatorsIn(namespace) {
		if gen.Spec.PathPattern != "" {
			continue
		}
		for i := range gen.Spec.OutputArtifacts {
			if gen.Spec.OutputArtifacts[i].Name == name {
				return gen, &gen.Spec.OutputArtifacts[i]
			}
		}
	}
	return nil, nil
}

// patternOutput returns the ArtifactGenerator in namespace whose
// pathPattern, expanded over its local source as source-controller
// expands it, generates an artifact called name, and that artifact
// rendered. errs say why generators with a pattern could not expand.
func (d *discoverer) patternOutput(namespace, name string) (*sourceextv1beta1.ArtifactGenerator, *sourceextv1beta1.OutputArtifact, []string) {
	var errs []string
	for _, gen := range d.vars.generatorsIn(namespace) {
		if gen.Spec.PathPattern == "" {
			continue
		}
		genKey := sourceextv1beta1.ArtifactGeneratorKind + "/" + gen.Namespace + "/" + gen.Name
		p, err := generator.ParsePattern(gen.Spec.PathPattern)
		if err == nil {
			err = p.CheckTemplates(gen.Spec.OutputArtifacts)
		}
		if err != nil {
			errs = append(errs, genKey+": "+err.Error())
			continue
		}
		dir, found := "", false
		for _, s := range gen.Spec.Sources {
			ns := s.Namespace
			if ns == "" {
				ns = gen.Namespace
			}
			if s.Alias == p.Alias {
				dir, found = d.dirs[sourceKey(s.Kind, ns, s.Name)]
			}
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: source '@%s' of its pathPattern is not this repository", genKey, p.Alias))
			continue
		}
		outs, err := p.Expand(dir, gen.Spec.OutputArtifacts)
		if err != nil {
			errs = append(errs, genKey+": "+err.Error())
			continue
		}
		for i := range outs {
			if outs[i].Name == name {
				return gen, &outs[i].OutputArtifact, nil
			}
		}
	}
	return nil, nil, errs
}

// isGenerator reports whether obj is an ArtifactGenerator.
func isGenerator(obj *unstructured.Unstructured) bool {
	return obj.GetKind() == sourceextv1beta1.ArtifactGeneratorKind && obj.GroupVersionKind().Group == sourceextv1beta1.GroupVersion.Group
}
