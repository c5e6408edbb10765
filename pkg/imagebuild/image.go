package imagebuild

import (
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI annotation and label keys (image-spec annotations.md).
const (
	LabelSource      = "org.opencontainers.image.source"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelVersion     = "org.opencontainers.image.version"
	LabelLicenses    = "org.opencontainers.image.licenses"
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelCreated     = "org.opencontainers.image.created"
)

// labels are a component's config labels, also its manifest and index
// annotations.
func labels(o Options, c Component) map[string]string {
	return map[string]string{
		LabelSource: o.Source, LabelRevision: o.Revision, LabelVersion: o.Version,
		LabelLicenses: o.Licenses, LabelTitle: c.Name, LabelDescription: c.Description,
		LabelCreated: o.Created.Format(time.RFC3339),
	}
}

// fileLayer opens a gzip-compressed tar written by writeLayer. ggcr sees
// the gzip magic and uses the file as the compressed blob unchanged, so
// the digest is the file's.
func fileLayer(path string) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (r io.ReadCloser, err error) { return os.Open(path) },
		tarball.WithMediaType(types.OCILayer))
}

// image assembles one component's image for one platform from the shared
// base layer and the component's binary layer.
func image(o Options, c Component, p platform, base, bin v1.Layer) (v1.Image, error) {
	created := v1.Time{Time: o.Created}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "gotk imagebuild: CA bundle, nonroot user, /tmp"}},
		mutate.Addendum{Layer: bin, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: createdBy(c)}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created, cf.OS, cf.Architecture = created, p.os, p.arch
	cf.Config = v1.Config{
		User: User, WorkingDir: "/", Entrypoint: []string{c.Entrypoint},
		Env:    []string{"PATH=/", "HOME=" + Home, "SSL_CERT_FILE=" + CABundlePath},
		Labels: labels(o, c),
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	return mutate.Annotations(img, labels(o, c)).(v1.Image), nil
}

// createdBy is the history line of a component's layer.
func createdBy(c Component) string {
	s := "gotk imagebuild: go build " + strings.Join(append([]string{c.Package}, c.Helpers...), " ")
	if c.ControlPlane {
		s += "; " + strings.Join(ControlPlaneBinaries, ", ") + " of the local control plane"
	}
	return s
}

// index puts one component's per-platform images in an OCI index.
func index(o Options, c Component, imgs map[platform]v1.Image, order []platform) v1.ImageIndex {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range order {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: imgs[p], Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Platform:  &v1.Platform{OS: p.os, Architecture: p.arch},
		}})
	}
	return mutate.Annotations(idx, labels(o, c)).(v1.ImageIndex)
}
