package postrender

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Kustomize applies a HelmRelease's kustomize patches and image overrides
// to the rendered manifests, in memory: the manifests are the only
// resource of a generated kustomization, so nothing is read from disk or
// the network.
type Kustomize struct {
	Spec helmv2.Kustomize
}

// Run implements Renderer.
func (k *Kustomize) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	if len(k.Spec.Patches) == 0 && len(k.Spec.Images) == 0 {
		return in, nil
	}
	kus := kustypes.Kustomization{
		TypeMeta:  kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
		Resources: []string{"resources.yaml"},
	}
	for _, p := range k.Spec.Patches {
		patch := kustypes.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			patch.Target = &kustypes.Selector{
				ResId:              resID(t.Group, t.Version, t.Kind, t.Name, t.Namespace),
				AnnotationSelector: t.AnnotationSelector, LabelSelector: t.LabelSelector,
			}
		}
		kus.Patches = append(kus.Patches, patch)
	}
	for _, img := range k.Spec.Images {
		kus.Images = append(kus.Images, kustypes.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
	}
	kb, err := yaml.Marshal(kus)
	if err != nil {
		return nil, fmt.Errorf("post-render: kustomization: %w", err)
	}
	fs := filesys.MakeFsInMemory()
	if err := fs.WriteFile("/work/kustomization.yaml", kb); err != nil {
		return nil, err
	}
	if err := fs.WriteFile("/work/resources.yaml", in.Bytes()); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = kustypes.LoadRestrictionsRootOnly
	resources, err := krusty.MakeKustomizer(opts).Run(fs, "/work")
	if err != nil {
		return nil, fmt.Errorf("post-render: kustomize: %w", err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("post-render: kustomize output: %w", err)
	}
	return bytes.NewBuffer(out), nil
}

func resID(group, version, kind, name, namespace string) resid.ResId {
	return resid.ResId{Gvk: resid.Gvk{Group: group, Version: version, Kind: kind}, Name: name, Namespace: namespace}
}
