package oci

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"gotk.dev/pkg/testserver"
)

// TestPushDirIsAFluxArtifact pushes a directory and reads it back as an
// OCIRepository would: Flux's media types, the annotations and one layer.
func TestPushDirIsAFluxArtifact(t *testing.T) {
	creds := testserver.BasicAuth{Username: "bot", Password: "s3cret"}
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: creds})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte("kind: ConfigMap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Host()+"/team/manifests:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Auth: &authn.Basic{Username: creds.Username, Password: creds.Password}, Insecure: true}
	digest, err := PushDir(context.Background(), ref, dir, "main@sha1:abc", "https://example.com/repo", o)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Image(context.Background(), ref, o)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := img.Digest(); got.String() != digest {
		t.Errorf("digest %s, pushed %s", got, digest)
	}
	if manifest.Config.MediaType != FluxConfigMediaType || len(manifest.Layers) != 1 || manifest.Layers[0].MediaType != FluxContentMediaType {
		t.Errorf("media types: config %s, layers %+v", manifest.Config.MediaType, manifest.Layers)
	}
	if manifest.Annotations[RevisionAnnotation] != "main@sha1:abc" || manifest.Annotations[SourceAnnotation] != "https://example.com/repo" {
		t.Errorf("annotations %v", manifest.Annotations)
	}

	if _, err := PushDir(context.Background(), ref, filepath.Join(dir, "missing"), "r", "s", o); err == nil {
		t.Error("pushing a missing directory succeeded")
	}
}
