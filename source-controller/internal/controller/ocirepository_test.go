package controller

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/authn"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testserver"
)

func newOCIRepository(ns, name, url string, ref *sourcev1.OCIRepositoryRef) *sourcev1.OCIRepository {
	return &sourcev1.OCIRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sourcev1.OCIRepositorySpec{URL: url, Reference: ref, Insecure: true,
			Interval: metav1.Duration{Duration: time.Hour}},
	}
}

func waitOCIReady(g Gomega, obj *sourcev1.OCIRepository, revision string) {
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		g.Expect(conditions.IsReady(obj)).To(BeTrue(), conditions.GetMessage(obj, meta.ReadyCondition))
		g.Expect(obj.Status.Artifact).NotTo(BeNil())
		g.Expect(obj.Status.Artifact.Revision).To(Equal(revision))
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
}

// fetchFiles downloads the artifact as a consumer does and returns one file.
func fetchFile(g Gomega, art *meta.Artifact, file string) string {
	dir, err := os.MkdirTemp("", "oci-fetch-")
	g.Expect(err).NotTo(HaveOccurred())
	defer os.RemoveAll(dir)
	g.Expect(newTestFetcher().Fetch(context.Background(), art.URL, art.Digest, dir)).To(Succeed())
	data, err := os.ReadFile(filepath.Join(dir, file))
	g.Expect(err).NotTo(HaveOccurred())
	return string(data)
}

func TestOCIRepositoryFluxArtifactByTag(t *testing.T) {
	g := NewWithT(t)
	h := startOCIHarness(t)
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ns := env.NewNamespace(t)
	ref := reg.Host() + "/org/manifests"
	d1 := pushArtifact(t, ref+":v1", map[string]string{"deploy/app.yaml": "replicas: 1\n"}, "main@sha1:1111", false, nil)

	obj := newOCIRepository(ns, "manifests", "oci://"+ref, &sourcev1.OCIRepositoryRef{Tag: "v1"})
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
	waitOCIReady(g, obj, "v1@"+d1)
	g.Expect(conditions.GetMessage(obj, meta.ReadyCondition)).To(Equal("stored artifact for digest 'v1@" + d1 + "'"))
	g.Expect(obj.Status.Artifact.Metadata).To(HaveKeyWithValue(oci.RevisionAnnotation, "main@sha1:1111"))
	g.Expect(obj.Status.URL).To(HaveSuffix("/latest.tar.gz"))
	g.Expect(fetchFile(g, obj.Status.Artifact, "deploy/app.yaml")).To(Equal("replicas: 1\n"))

	// A NewArtifact event with revision metadata reaches the events address.
	g.Eventually(func() string {
		for _, r := range h.sink.Requests() {
			var ev struct {
				Reason   string
				Metadata map[string]string
			}
			if r.JSON(&ev) == nil && ev.Reason == "NewArtifact" && ev.Metadata["source.toolkit.fluxcd.io/revision"] == "v1@"+d1 {
				return ev.Metadata["source.toolkit.fluxcd.io/originRevision"]
			}
		}
		return ""
	}, 10*time.Second, 100*time.Millisecond).Should(Equal("main@sha1:1111"))

	// The same digest again: nothing pulled, the artifact is untouched.
	stored := obj.Status.Artifact.DeepCopy()
	annotateReconcile(g, obj)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
		g.Expect(obj.Status.LastHandledReconcileAt).To(Equal(obj.Annotations[meta.ReconcileRequestAnnotation]))
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(obj.Status.Artifact).To(Equal(stored))
	g.Expect(conditions.GetReason(obj, sourcev1.ArtifactInStorageCondition)).To(Equal(sourcev1.ArtifactUpToDateReason))

	// A new push to the tag: a new artifact with the new content.
	d2 := pushArtifact(t, ref+":v1", map[string]string{"deploy/app.yaml": "replicas: 3\n"}, "main@sha1:2222", false, nil)
	annotateReconcile(g, obj)
	waitOCIReady(g, obj, "v1@"+d2)
	g.Expect(fetchFile(g, obj.Status.Artifact, "deploy/app.yaml")).To(Equal("replicas: 3\n"))

	// Delete removes the stored files.
	path := filepath.Join(h.storage.BasePath, obj.Status.Artifact.Path)
	g.Expect(env.Client.Delete(context.Background(), obj)).To(Succeed())
	g.Eventually(func() bool { _, err := os.Stat(path); return os.IsNotExist(err) }, 10*time.Second, 100*time.Millisecond).Should(BeTrue())
}

func TestOCIRepositoryRefKinds(t *testing.T) {
	g := NewWithT(t)
	startOCIHarness(t)
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ns := env.NewNamespace(t)
	ref := reg.Host() + "/org/app"
	pushArtifact(t, ref+":1.0.0", map[string]string{"v": "1.0.0"}, "", false, nil)
	d12 := pushArtifact(t, ref+":1.2.0", map[string]string{"v": "1.2.0"}, "", false, nil)
	pushArtifact(t, ref+":2.0.0-rc.1", map[string]string{"v": "2.0.0-rc.1"}, "", false, nil)
	dPlain := pushArtifact(t, ref+":plain", map[string]string{"v": "plain"}, "", true, nil)

	semver := newOCIRepository(ns, "semver", "oci://"+ref, &sourcev1.OCIRepositoryRef{SemVer: ">=1.0.0"})
	g.Expect(env.Client.Create(context.Background(), semver)).To(Succeed())
	waitOCIReady(g, semver, "1.2.0@"+d12)

	byDigest := newOCIRepository(ns, "digest", "oci://"+ref, &sourcev1.OCIRepositoryRef{Digest: d12, Tag: "ignored"})
	g.Expect(env.Client.Create(context.Background(), byDigest)).To(Succeed())
	waitOCIReady(g, byDigest, d12)

	plain := newOCIRepository(ns, "plain", "oci://"+ref, &sourcev1.OCIRepositoryRef{Tag: "plain"})
	g.Expect(env.Client.Create(context.Background(), plain)).To(Succeed())
	waitOCIReady(g, plain, "plain@"+dPlain)
	g.Expect(fetchFile(g, plain.Status.Artifact, "v")).To(Equal("plain"))
}

// TestOCIRepositoryBadInput: bad URLs, credentials (secretRef or the
// image pull secrets of spec.serviceAccountName), tags and layer selectors
// fail with a precise reason; a service account whose pull secrets hold
// the registry's credentials authenticates.
func TestOCIRepositoryBadInput(t *testing.T) {
	startOCIHarness(t)
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: "bot", Password: "s3cret"}})
	ns := env.NewNamespace(t)
	ref := reg.Host() + "/org/private"
	pushArtifact(t, ref+":v1", map[string]string{"a": "b"}, "", false, &authn.Basic{Username: "bot", Password: "s3cret"})
	cfg := func(user, pass string) []byte {
		auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		return fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, reg.Host(), auth)
	}
	for name, pass := range map[string]string{"good": "s3cret", "wrong": "nope"} {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: cfg("bot", pass)}}
		NewWithT(t).Expect(env.Client.Create(context.Background(), secret)).To(Succeed())
	}

	// A service account whose image pull secrets hold the credentials
	// (one for another registry first, skipped).
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "other-registry", Namespace: ns}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"registry.example.com":{"auth":"eDp5"}}}`)}}
	NewWithT(t).Expect(env.Client.Create(context.Background(), other)).To(Succeed())
	for name, pulls := range map[string][]string{"puller": {"other-registry", "good"}, "no-pull": {"other-registry"}} {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		for _, p := range pulls {
			sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
		}
		NewWithT(t).Expect(env.Client.Create(context.Background(), sa)).To(Succeed())
	}
	withSA := newOCIRepository(ns, "with-sa", "oci://"+ref, &sourcev1.OCIRepositoryRef{Tag: "v1"})
	withSA.Spec.ServiceAccountName = "puller"
	NewWithT(t).Expect(env.Client.Create(context.Background(), withSA)).To(Succeed())
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(withSA), withSA)).To(Succeed())
		g.Expect(conditions.IsReady(withSA)).To(BeTrue())
	}, 30*time.Second, 100*time.Millisecond).Should(Succeed())

	tests := []struct {
		name, url, secret, tag string
		serviceAccount         string
		selector               *sourcev1.OCILayerSelector
		stalled                bool
		reason, message        string
	}{
		{name: "invalid repository", url: "oci://" + reg.Host() + "/Org/UPPER", tag: "v1", stalled: true, reason: sourcev1.URLInvalidReason, message: "invalid image"},
		{name: "no credentials", url: "oci://" + ref, tag: "v1", reason: sourcev1.AuthenticationFailedReason, message: "registry " + reg.Host() + " refused"},
		{name: "wrong password", url: "oci://" + ref, secret: "wrong", tag: "v1", reason: sourcev1.AuthenticationFailedReason, message: "refused the credentials"},
		{name: "missing secret", url: "oci://" + ref, secret: "absent", tag: "v1", reason: sourcev1.AuthenticationFailedReason, message: "secret 'absent' not found"},
		{name: "service account without credentials for the host", url: "oci://" + ref, serviceAccount: "no-pull", tag: "v1",
			reason: sourcev1.AuthenticationFailedReason, message: "registry " + reg.Host() + " refused"},
		{name: "missing service account", url: "oci://" + ref, serviceAccount: "absent", tag: "v1",
			reason: sourcev1.AuthenticationFailedReason, message: "service account 'absent' not found"},
		{name: "missing tag", url: "oci://" + ref, secret: "good", tag: "v9", reason: sourcev1.OCIPullFailedReason, message: "v9"},
		{name: "no such layer", url: "oci://" + ref, secret: "good", tag: "v1", selector: &sourcev1.OCILayerSelector{MediaType: "application/x-nope"},
			reason: sourcev1.OCILayerOperationFailedReason, message: `no layer with media type "application/x-nope"`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := newOCIRepository(ns, fmt.Sprintf("bad-%d", i), tt.url, &sourcev1.OCIRepositoryRef{Tag: tt.tag})
			obj.Spec.LayerSelector = tt.selector
			if tt.secret != "" {
				obj.Spec.SecretRef = &meta.LocalObjectReference{Name: tt.secret}
			}
			obj.Spec.ServiceAccountName = tt.serviceAccount
			g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())
			g.Eventually(func(g Gomega) {
				g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
				g.Expect(conditions.GetReason(obj, meta.ReadyCondition)).To(Equal(tt.reason))
				g.Expect(conditions.GetMessage(obj, meta.ReadyCondition)).To(ContainSubstring(tt.message))
				g.Expect(conditions.IsStalled(obj)).To(Equal(tt.stalled))
				g.Expect(conditions.IsTrue(obj, sourcev1.FetchFailedCondition)).To(BeTrue())
			}, 30*time.Second, 100*time.Millisecond).Should(Succeed())
			g.Expect(obj.Status.Artifact).To(BeNil(), "nothing stored")
			g.Expect(conditions.GetMessage(obj, meta.ReadyCondition)).NotTo(ContainSubstring("s3cret"))
		})
	}
}

// annotateReconcile sets reconcile.fluxcd.io/requestedAt on any source.
func annotateReconcile(g Gomega, obj client.Object) {
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[meta.ReconcileRequestAnnotation] = time.Now().Format(time.RFC3339Nano)
	obj.SetAnnotations(ann)
	g.Expect(env.Client.Patch(context.Background(), obj, patch)).To(Succeed())
}

func newTestFetcher() *artifact.Fetcher { return artifact.NewFetcher(2, 10*time.Second, 0) }
