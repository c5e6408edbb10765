package controller

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/events"
	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/artifact/tarball"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testserver"
	"gotk.dev/source-controller/internal/helm"
)

// ociHarness runs the OCIRepository, HelmRepository and HelmChart reconcilers under a real manager with
// its own storage, served over HTTP, and events posted to a sink.
type ociHarness struct {
	indexCache *helm.IndexCache
	storage    *artifact.Storage
	sink       *testserver.WebhookSink
}

var (
	ociHarnessOnce sync.Once
	ociShared      *ociHarness
)

func startOCIHarness(t *testing.T) *ociHarness {
	t.Helper()
	ociHarnessOnce.Do(func() {
		h := &ociHarness{}
		ctrl.SetLogger(logr.Discard())
		dir, err := os.MkdirTemp("", "oci-controller-test-")
		if err != nil {
			t.Fatal(err)
		}
		if h.storage, err = artifact.NewStorage(filepath.Join(dir, "storage"), "", 2, 0); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(artifact.NewServer(h.storage))
		h.storage.Hostname = srv.URL
		if h.sink, err = testserver.NewWebhookSink(); err != nil {
			t.Fatal(err)
		}
		mgr, err := ctrl.NewManager(env.Config, testManagerOptions())
		if err != nil {
			t.Fatal(err)
		}
		rec, err := events.NewRecorder(ctrl.Log, h.sink.URL(), "source-controller", events.WithManager(mgr))
		if err != nil {
			t.Fatal(err)
		}
		if err := SetupOCIRepository(mgr, rec, h.storage, OCIRepositoryOptions{ControllerName: "source-controller", ControllerOptions: testControllerOptions(2)}); err != nil {
			t.Fatal(err)
		}
		if err := SetupHelmRepository(mgr, rec, h.storage, HelmRepositoryOptions{ControllerName: "source-controller", ControllerOptions: testControllerOptions(2)}); err != nil {
			t.Fatal(err)
		}
		if err := SetupBucket(mgr, rec, h.storage, BucketOptions{ControllerName: "source-controller", ControllerOptions: testControllerOptions(2)}); err != nil {
			t.Fatal(err)
		}
		h.indexCache = &helm.IndexCache{TTL: time.Hour}
		if err := SetupHelmChart(mgr, rec, h.storage, HelmChartOptions{ControllerName: "source-controller", ControllerOptions: testControllerOptions(2), IndexCache: h.indexCache}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = mgr.Start(ctx) }()
		env.AddCleanup(func() { cancel(); <-done })
		ociShared = h
	})
	if ociShared == nil {
		t.Fatal("OCI harness failed to start")
	}
	return ociShared
}

// pushArtifact pushes files as a Flux OCI artifact (or, with plain, as a
// single-layer image of a tar.gz) and returns the manifest digest.
func pushArtifact(t *testing.T, ref string, files map[string]string, revision string, plain bool, auth authn.Authenticator) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if auth == nil {
		auth = authn.Anonymous
	}
	if !plain {
		digest, err := oci.PushDir(context.Background(), r, dir, revision, "https://example.com/repo", oci.Options{Auth: auth, Insecure: true})
		if err != nil {
			t.Fatal(err)
		}
		return digest
	}
	var buf bytes.Buffer
	if err := tarball.Archive(&buf, dir, nil); err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: static.NewLayer(buf.Bytes(), types.DockerLayer)})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest.String()
}
