package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/testserver"
)

// TestArtifactGeneratorOCIAndBucket composes an OCIRepository's and a
// Bucket's artifacts into one output; the generator annotated
// source.extensions.fluxcd.io/reconcile=disabled leaves a new upstream
// artifact alone until the annotation goes.
func TestArtifactGeneratorOCIAndBucket(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	startOCIHarness(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)

	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	ref := reg.Host() + "/org/manifests"
	d1 := pushArtifact(t, ref+":v1", map[string]string{"deploy/app.yaml": "replicas: 1\n"}, "main@sha1:1111", false, nil)
	oci := newOCIRepository(ns, "manifests", "oci://"+ref, &sourcev1.OCIRepositoryRef{Tag: "v1"})
	g.Expect(env.Client.Create(ctx, oci)).To(Succeed())
	waitOCIReady(g, oci, "v1@"+d1)

	s3 := testserver.NewS3ForTest(t, testserver.S3Options{})
	g.Expect(s3.CreateBucket("config")).To(Succeed())
	g.Expect(s3.PutObject("config", "envs/prod/configmap.yaml", "kind: ConfigMap\n")).To(Succeed())
	b := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: "config", Namespace: ns}, Spec: sourcev1.BucketSpec{
		BucketName: "config", Endpoint: s3.Endpoint(), Insecure: true, Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(env.Client.Create(ctx, b)).To(Succeed())
	waitSourceReady(g, b, func(g Gomega) { g.Expect(b.Status.Artifact).NotTo(BeNil()) })

	ag := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: sourceextv1beta1.ArtifactGeneratorSpec{
			Sources: []sourceextv1beta1.SourceReference{
				{Alias: "oci", Kind: sourcev1.OCIRepositoryKind, Name: "manifests"},
				{Alias: "config", Kind: sourcev1.BucketKind, Name: "config"},
			},
			OutputArtifacts: []sourceextv1beta1.OutputArtifact{{Name: "app", OriginRevision: "@oci", Copy: []sourceextv1beta1.CopyOperation{
				{From: "@oci/deploy/*.yaml", To: "@artifact/app/"},
				{From: "@config/envs/prod/configmap.yaml", To: "@artifact/app/env.yaml"},
			}}}}}
	g.Expect(env.Client.Create(ctx, ag)).To(Succeed())
	waitGeneratorReady(g, ag)
	out := externalArtifact(g, ns, "app")
	g.Expect(fetchFiles(g, out.Status.Artifact)).To(Equal([]string{"app/app.yaml", "app/env.yaml"}))
	g.Expect(out.Status.Artifact.Metadata).To(HaveKeyWithValue(sourceextv1beta1.ArtifactOriginRevisionAnnotation, "v1@"+d1))

	// Disabled: a new OCI artifact is not picked up.
	patch := client.MergeFrom(ag.DeepCopy())
	ag.Annotations = map[string]string{sourceextv1beta1.ReconcileAnnotation: "disabled"}
	g.Expect(env.Client.Patch(ctx, ag, patch)).To(Succeed())
	d2 := pushArtifact(t, ref+":v1", map[string]string{"deploy/app.yaml": "replicas: 2\n"}, "main@sha1:2222", false, nil)
	annotateReconcile(g, oci)
	waitOCIReady(g, oci, "v1@"+d2)
	before := out.Status.Artifact.DeepCopy()
	g.Consistently(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(out), out)).To(Succeed())
		g.Expect(out.Status.Artifact).To(Equal(before))
	}, 2*time.Second, 200*time.Millisecond).Should(Succeed())

	// Enabled again: the new content is generated.
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(ag), ag)).To(Succeed())
	patch = client.MergeFrom(ag.DeepCopy())
	delete(ag.Annotations, sourceextv1beta1.ReconcileAnnotation)
	ag.Annotations[meta.ReconcileRequestAnnotation] = time.Now().Format(time.RFC3339Nano)
	g.Expect(env.Client.Patch(ctx, ag, patch)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(out), out)).To(Succeed())
		g.Expect(fetchFile(g, out.Status.Artifact, "app/app.yaml")).To(Equal("replicas: 2\n"))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
}
