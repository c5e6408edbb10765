package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/testserver"
)

func TestBucketSyncsObjectsUnderPrefix(t *testing.T) {
	g := NewWithT(t)
	h := startOCIHarness(t)
	ctx := context.Background()
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{AccessKey: "AKID", SecretKey: "s3cret"})
	g.Expect(s3.CreateBucket("manifests")).To(Succeed())
	for key, content := range map[string]string{"prod/app.yaml": "replicas: 1\n", "prod/notes.md": "x", "dev/app.yaml": "dev"} {
		g.Expect(s3.PutObject("manifests", key, content)).To(Succeed())
	}
	ns := env.NewNamespace(t)
	for name, secret := range map[string]string{"good": "s3cret", "wrong": "nope"} {
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Data: map[string][]byte{"accesskey": []byte("AKID"), "secretkey": []byte(secret)}})).To(Succeed())
	}
	ignore := "*.md\n"
	b := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "manifests", Namespace: ns}, Spec: sourcev1.BucketSpec{
		BucketName: "manifests", Endpoint: s3.Endpoint(), Insecure: true, Prefix: "prod/", Ignore: &ignore,
		SecretRef: &meta.LocalObjectReference{Name: "good"}, Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(ctx, b)).To(Succeed())
	waitSourceReady(g, b, func(g Gomega) { g.Expect(b.Status.Artifact).NotTo(BeNil()) })
	first := b.Status.Artifact.DeepCopy()
	g.Expect(first.Revision).To(HavePrefix("sha256:"))
	g.Expect(fetchFile(g, first, "prod/app.yaml")).To(Equal("replicas: 1\n"))
	dir := t.TempDir()
	g.Expect(fetchAll(first, dir)).To(Succeed())
	_, err := os.Stat(filepath.Join(dir, "prod/notes.md"))
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "ignored by spec.ignore")
	_, err = os.Stat(filepath.Join(dir, "dev/app.yaml"))
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "outside the prefix")

	// Unchanged objects: same artifact. A changed object: a new revision.
	annotateReconcile(g, b)
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(b), b)).To(Succeed())
		g.Expect(b.Status.LastHandledReconcileAt).To(Equal(b.Annotations[meta.ReconcileRequestAnnotation]))
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(b.Status.Artifact).To(Equal(first))
	g.Expect(s3.PutObject("manifests", "prod/app.yaml", "replicas: 3\n")).To(Succeed())
	annotateReconcile(g, b)
	waitSourceReady(g, b, func(g Gomega) {
		g.Expect(b.Status.Artifact).NotTo(BeNil())
		g.Expect(b.Status.Artifact.Revision).NotTo(Equal(first.Revision))
	})
	g.Expect(fetchFile(g, b.Status.Artifact, "prod/app.yaml")).To(Equal("replicas: 3\n"))

	// Wrong keys, and S3 keys given to provider gcp, are reported precisely.
	cases := map[string]func(*sourcev1.Bucket){
		"wrong-key": func(b *sourcev1.Bucket) { b.Spec.SecretRef = &meta.LocalObjectReference{Name: "wrong"} },
		"gcp":       func(b *sourcev1.Bucket) { b.Spec.Provider = "gcp" },
	}
	want := map[string][2]string{
		"wrong-key": {sourcev1.AuthenticationFailedReason, "refused the credentials for bucket 'manifests'"},
		"gcp":       {sourcev1.AuthenticationFailedReason, "secret 'good' needs a 'serviceaccount' key"},
	}
	for name, mutate := range cases {
		bad := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: *b.Spec.DeepCopy()}
		mutate(bad)
		g.Expect(env.Client.Create(ctx, bad)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(bad), bad)).To(Succeed())
			g.Expect(conditions.GetReason(bad, meta.ReadyCondition)).To(Equal(want[name][0]))
			g.Expect(conditions.GetMessage(bad, meta.ReadyCondition)).To(ContainSubstring(want[name][1]))
		}, 30*time.Second, 100*time.Millisecond).Should(Succeed(), fmt.Sprint(name))
		g.Expect(conditions.GetMessage(bad, meta.ReadyCondition)).NotTo(ContainSubstring("nope"))
	}

	// Delete removes the artifacts.
	path := filepath.Join(h.storage.BasePath, b.Status.Artifact.Path)
	g.Expect(env.Client.Delete(ctx, b)).To(Succeed())
	g.Eventually(func() bool { _, err := os.Stat(path); return os.IsNotExist(err) }, 10*time.Second, 100*time.Millisecond).Should(BeTrue())
}

func fetchAll(art *meta.Artifact, dir string) error {
	return newTestFetcher().Fetch(context.Background(), art.URL, art.Digest, dir)
}
