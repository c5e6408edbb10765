// Package postrender changes the manifests Helm renders before they are
// applied: the HelmRelease's kustomize post-renderers, its common
// metadata, and the owner labels that tie every object to it.
package postrender

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	helmv2 "gotk.dev/pkg/apis/helm/v2"
)

// Renderer changes a stream of rendered manifests. It has the method set of
// Helm's post-renderer, so every Renderer is one; defining it here keeps
// Helm's plugin machinery out of the packages that only post-render.
type Renderer interface {
	Run(renderedManifests *bytes.Buffer) (*bytes.Buffer, error)
}

// Chain runs post-renderers in order.
type Chain []Renderer

// Run implements Renderer.
func (c Chain) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	var err error
	for _, pr := range c {
		if in, err = pr.Run(in); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// For returns the post-renderers of obj: its kustomize post-renderers,
// then common metadata, then owner labels (last, so nothing overrides
// them).
func For(obj *helmv2.HelmRelease) Renderer {
	var chain Chain
	for _, p := range obj.Spec.PostRenderers {
		if p.Kustomize != nil {
			chain = append(chain, &Kustomize{Spec: *p.Kustomize})
		}
	}
	labels := map[string]string{}
	annotations := map[string]string{}
	if cm := obj.Spec.CommonMetadata; cm != nil {
		for k, v := range cm.Labels {
			labels[k] = v
		}
		for k, v := range cm.Annotations {
			annotations[k] = v
		}
	}
	labels[helmv2.NameLabel] = obj.Name
	labels[helmv2.NamespaceLabel] = obj.Namespace
	chain = append(chain, &Metadata{Labels: labels, Annotations: annotations})
	return chain
}

// Digest returns a digest of what the post-renderers and common metadata
// of obj do, so a change to them upgrades the release.
func Digest(obj *helmv2.HelmRelease) string {
	b, _ := json.Marshal(struct {
		P []helmv2.PostRenderer  `json:"p,omitempty"`
		C *helmv2.CommonMetadata `json:"c,omitempty"`
	}{obj.Spec.PostRenderers, obj.Spec.CommonMetadata})
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Metadata sets labels and annotations on every object.
type Metadata struct {
	Labels, Annotations map[string]string
}

// Run implements Renderer.
func (m *Metadata) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	return eachNode(in, func(n *yaml.RNode) error {
		if len(m.Labels) > 0 {
			labels := n.GetLabels()
			for k, v := range m.Labels {
				labels[k] = v
			}
			if err := n.SetLabels(labels); err != nil {
				return err
			}
		}
		if len(m.Annotations) > 0 {
			ann := n.GetAnnotations()
			for k, v := range m.Annotations {
				ann[k] = v
			}
			if err := n.SetAnnotations(ann); err != nil {
				return err
			}
		}
		return nil
	})
}

// eachNode parses the manifests, applies fn to every object and prints
// them back.
func eachNode(in *bytes.Buffer, fn func(*yaml.RNode) error) (*bytes.Buffer, error) {
	nodes, err := (&kio.ByteReader{Reader: in, OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, fmt.Errorf("post-render: parsing manifests: %w", err)
	}
	for _, n := range nodes {
		if err := fn(n); err != nil {
			return nil, fmt.Errorf("post-render: %s %s: %w", n.GetKind(), n.GetName(), err)
		}
	}
	var out bytes.Buffer
	if err := (kio.ByteWriter{Writer: &out}).Write(nodes); err != nil {
		return nil, fmt.Errorf("post-render: printing manifests: %w", err)
	}
	return &out, nil
}
