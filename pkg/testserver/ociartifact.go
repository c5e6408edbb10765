package testserver

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gotk.dev/pkg/artifact/tarball"
	"gotk.dev/pkg/oci"
)

// PushFluxArtifact pushes files (slash-separated path → content) to ref
// as `flux push artifact` does: one gzip tarball layer of Flux's content
// type, Flux's config type, and the revision and source annotations. It
// returns the manifest digest.
func PushFluxArtifact(ref string, files map[string]string, revision, source string, auth authn.Authenticator) (string, error) {
	dir, err := os.MkdirTemp("", "gotk-oci-artifact-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	var buf bytes.Buffer
	if err := tarball.Archive(&buf, dir, nil); err != nil {
		return "", err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), oci.FluxConfigMediaType)
	img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(buf.Bytes(), oci.FluxContentMediaType)})
	if err != nil {
		return "", err
	}
	img = mutate.Annotations(img, map[string]string{oci.RevisionAnnotation: revision, oci.SourceAnnotation: source}).(v1.Image)
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	if auth == nil {
		auth = authn.Anonymous
	}
	if err := remote.Write(r, img, remote.WithAuth(auth)); err != nil {
		return "", err
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	return digest.String(), nil
}
