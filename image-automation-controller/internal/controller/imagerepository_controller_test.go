package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gotk.dev/image-automation-controller/internal/tagstore"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/pkg/testserver"
)

// A repository behind basic auth is scanned with the dockerconfigjson
// secret; signature tags are excluded; a reconcile request rescans.
func TestImageRepositoryScanStory(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	path := ns + "/app"
	pushImage(t, path, "1.0.0", "1.1.0", "v2.0.0-rc.1", "latest", "sha256-0123.sig")
	dockerSecret(t, ns, "creds", regPassword)

	repo := newRepository(ns, "app", path)
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	repo = readyTrue(t, repo)

	g.Expect(repo.Status.CanonicalImageName).To(Equal(reg.Host() + "/" + path))
	g.Expect(repo.Status.ObservedExclusionList).To(Equal(imagev1.DefaultExclusionList))
	res := repo.Status.LastScanResult
	g.Expect(res).NotTo(BeNil())
	g.Expect(res.TagCount).To(Equal(4))
	g.Expect(res.LatestTags).To(Equal([]string{"v2.0.0-rc.1", "latest", "1.1.0", "1.0.0"}))
	g.Expect(res.Revision).To(HavePrefix("sha256:"))
	g.Expect(conditions.GetMessage(repo, "Ready")).To(Equal("successful scan: found 4 tags"))
	tags, err := store.Get(ns, "app")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tags).To(Equal([]string{"1.0.0", "1.1.0", "latest", "v2.0.0-rc.1"}))
	waitEvent(t, repo, "successful scan: found 4 tags")

	// A new tag is seen at the next requested scan.
	pushImage(t, path, "1.2.0")
	requestReconcile(t, repo)
	repo = eventually(t, repo, func(g Gomega, r *imagev1.ImageRepository) {
		g.Expect(r.Status.LastScanResult.TagCount).To(Equal(5))
		g.Expect(r.Status.LastHandledReconcileAt).To(Equal(r.Annotations["reconcile.fluxcd.io/requestedAt"]))
	})

	// Deleting the repository forgets its tags.
	g.Expect(env.Client.Delete(ctx, repo)).To(Succeed())
	g.Eventually(func() bool { return store.Has(ns, "app") }, 30*time.Second, 100*time.Millisecond).Should(BeFalse())
}

// A scan result younger than the interval is not redone after a restart
// (a new reconciler on the same storage path) — the registry sees no tag
// request — but is redone when the stored tags are gone.
func TestImageRepositorySkipsRescanUntilInterval(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	path := ns + "/quiet"
	pushImage(t, path, "1.0.0", "2.0.0")
	dockerSecret(t, ns, "creds", regPassword)
	repo := newRepository(ns, "quiet", path)
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	repo = readyTrue(t, repo)

	restarted, err := tagstore.Open(store.Dir())
	g.Expect(err).NotTo(HaveOccurred())
	now := repo.Status.LastScanResult.ScanTime.Add(time.Minute)
	r := &ImageRepositoryReconciler{Client: env.Client, Store: restarted, Now: func() time.Time { return now }}
	before := reg.TagListRequests()
	reason, msg, err := r.Reconcile(ctx, repo.DeepCopy())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(reason).To(Equal("Succeeded"))
	g.Expect(msg).To(Equal("successful scan: found 2 tags"))
	g.Expect(reg.TagListRequests()).To(Equal(before), "no scan before the interval")

	// Once the interval has passed, it scans.
	now = repo.Status.LastScanResult.ScanTime.Add(time.Hour)
	obj := repo.DeepCopy()
	_, _, err = r.Reconcile(ctx, obj)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(reg.TagListRequests()).To(BeNumerically(">", before))
	g.Expect(obj.Status.LastScanResult.ScanTime.Time).To(BeTemporally("==", now.Truncate(time.Second)))

	// Lost tags are scanned again even within the interval.
	now = repo.Status.LastScanResult.ScanTime.Add(time.Minute)
	g.Expect(restarted.Delete(ns, "quiet")).To(Succeed())
	before = reg.TagListRequests()
	_, _, err = r.Reconcile(ctx, repo.DeepCopy())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(reg.TagListRequests()).To(BeNumerically(">", before))
	g.Expect(restarted.Has(ns, "quiet")).To(BeTrue())

	// A failed last attempt (its request already handled) is retried by
	// scanning, not answered with the older scan.
	failed := repo.DeepCopy()
	conditions.MarkFalse(failed, "Ready", imagev1.ReadOperationFailedReason, "registry down")
	before = reg.TagListRequests()
	_, _, err = r.Reconcile(ctx, failed)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(reg.TagListRequests()).To(BeNumerically(">", before))
}

// Missing or wrong credentials give AuthenticationFailed naming the
// registry, never the password; fixing the secret recovers.
func TestImageRepositoryAuthFailure(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	path := ns + "/private"
	pushImage(t, path, "1.0.0")

	anon := newRepository(ns, "anonymous", path)
	anon.Spec.SecretRef = nil
	g.Expect(env.Client.Create(ctx, anon)).To(Succeed())
	anon = notReady(t, anon, imagev1.AuthenticationFailedReason, "authentication to registry "+reg.Host()+" failed")

	dockerSecret(t, ns, "creds", "wrong-password")
	wrong := newRepository(ns, "wrong", path)
	g.Expect(env.Client.Create(ctx, wrong)).To(Succeed())
	wrong = notReady(t, wrong, imagev1.AuthenticationFailedReason, reg.Host())
	g.Expect(conditions.GetMessage(wrong, "Ready")).NotTo(ContainSubstring("wrong-password"))
	g.Expect(conditions.IsReconciling(wrong)).To(BeTrue(), "a transient failure keeps Reconciling")

	missing := newRepository(ns, "missing", path)
	missing.Spec.SecretRef.Name = "nope"
	g.Expect(env.Client.Create(ctx, missing)).To(Succeed())
	notReady(t, missing, imagev1.AuthenticationFailedReason, "secret "+ns+"/nope: not found")

	// Fix the password: the retry succeeds.
	var s = mustGetSecret(t, ns, "creds")
	s.Data[".dockerconfigjson"] = []byte(strings.Replace(string(s.Data[".dockerconfigjson"]), "wrong-password", regPassword, 1))
	g.Expect(env.Client.Update(ctx, s)).To(Succeed())
	readyTrue(t, wrong)
}

// A custom exclusion list replaces the default; an invalid expression or
// image stalls with the parse error.
func TestImageRepositoryExclusionListAndInvalidSpec(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	path := ns + "/excl"
	pushImage(t, path, "1.0.0", "dev-1", "dev-2", "1.0.0.sig")
	dockerSecret(t, ns, "creds", regPassword)

	repo := newRepository(ns, "excl", path)
	repo.Spec.ExclusionList = []string{"^dev-"}
	g.Expect(env.Client.Create(ctx, repo)).To(Succeed())
	repo = readyTrue(t, repo)
	g.Expect(repo.Status.LastScanResult.LatestTags).To(Equal([]string{"1.0.0.sig", "1.0.0"}))
	g.Expect(repo.Status.ObservedExclusionList).To(Equal([]string{"^dev-"}))

	bad := newRepository(ns, "badregex", path)
	bad.Spec.ExclusionList = []string{"^dev-(", "ok"}
	g.Expect(env.Client.Create(ctx, bad)).To(Succeed())
	stalled(t, bad, InvalidExclusionListReason, `invalid exclusionList entry "^dev-("`)

	badImage := newRepository(ns, "badimage", path)
	badImage.Spec.Image = reg.Host() + "/" + path + ":v1"
	g.Expect(env.Client.Create(ctx, badImage)).To(Succeed())
	stalled(t, badImage, imagev1.ImageURLInvalidReason, "must be a repository without a tag or digest")

	cloud := newRepository(ns, "cloud", path)
	cloud.Spec.Provider = imagev1.AWSProvider
	g.Expect(env.Client.Create(ctx, cloud)).To(Succeed())
	stalled(t, cloud, cloudauth.InvalidProviderConfigurationReason, "is not an Amazon ECR registry")
}

// Table of scan-step outcomes called directly (no manager), for the
// typed errors each input gives.
func TestImageRepositoryStepErrors(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	dockerSecret(t, ns, "creds", regPassword)
	badCA := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bad-ca"}, Data: map[string][]byte{"ca.crt": []byte("not pem")}}
	NewWithT(t).Expect(env.Client.Create(ctx, badCA)).To(Succeed())
	for _, tc := range []struct {
		name   string
		mutate func(*imagev1.ImageRepository)
		class  reconcile.Class
		reason string
		msg    string
	}{
		{name: "unreachable registry", mutate: func(r *imagev1.ImageRepository) { r.Spec.Image = "127.0.0.1:1/none"; r.Spec.SecretRef = nil },
			class: reconcile.Transient, reason: imagev1.ReadOperationFailedReason, msg: "listing tags of 127.0.0.1:1/none"},
		{name: "malformed cert secret", mutate: func(r *imagev1.ImageRepository) {
			r.Spec.CertSecretRef = &metaRef{Name: "bad-ca"}
		}, class: reconcile.Transient, reason: imagev1.AuthenticationFailedReason, msg: "certSecretRef " + ns + "/bad-ca: ca.crt holds no PEM certificate"},
		{name: "secret without dockerconfigjson", mutate: func(r *imagev1.ImageRepository) { r.Spec.SecretRef.Name = "bad-ca" },
			class: reconcile.Transient, reason: imagev1.AuthenticationFailedReason, msg: `has no ".dockerconfigjson" key`},
		{name: "secret for another registry", mutate: func(r *imagev1.ImageRepository) { r.Spec.Image = "ghcr.io/org/app" },
			class: reconcile.Transient, reason: imagev1.AuthenticationFailedReason, msg: "holds no credentials for registry ghcr.io"},
		{name: "invalid image", mutate: func(r *imagev1.ImageRepository) { r.Spec.Image = "UPPER/case" },
			class: reconcile.Stalling, reason: imagev1.ImageURLInvalidReason, msg: `invalid image "UPPER/case"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := newRepository(ns, "steps", ns+"/steps")
			obj.Spec.Timeout = &metav1.Duration{Duration: 5 * time.Second}
			tc.mutate(obj)
			r := &ImageRepositoryReconciler{Client: env.Client, Store: store}
			_, _, err := r.Reconcile(ctx, obj)
			g.Expect(err).To(HaveOccurred())
			e := reconcile.Classify(err, "")
			g.Expect(e.Class).To(Equal(tc.class))
			g.Expect(e.Reason).To(Equal(tc.reason))
			g.Expect(e.Error()).To(ContainSubstring(tc.msg))
			g.Expect(e.Error()).NotTo(ContainSubstring(regPassword))
		})
	}
}

// A registry with a private CA is scanned with certSecretRef's ca.crt and
// refused without it; credentials can come from the service account's
// image pull secrets instead of secretRef.
func TestImageRepositoryCertAndServiceAccount(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)

	tlsReg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{TLS: true})
	img, err := random.Image(64, 1)
	g.Expect(err).NotTo(HaveOccurred())
	tlsRepo, err := name.NewRepository(tlsReg.Host() + "/secure/app")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(remote.Write(tlsRepo.Tag("1.0.0"), img, remote.WithTransport(tlsReg.Client().Transport))).To(Succeed())
	g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"},
		Data: map[string][]byte{"ca.crt": tlsReg.CAPEM()}})).To(Succeed())

	untrusted := &imagev1.ImageRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "untrusted"},
		Spec:       imagev1.ImageRepositorySpec{Image: tlsRepo.Name(), Interval: metav1.Duration{Duration: time.Hour}},
	}
	g.Expect(env.Client.Create(ctx, untrusted)).To(Succeed())
	notReady(t, untrusted, imagev1.ReadOperationFailedReason, "certificate")

	trusted := untrusted.DeepCopy()
	trusted.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: "trusted"}
	trusted.Spec.CertSecretRef = &metaRef{Name: "ca"}
	g.Expect(env.Client.Create(ctx, trusted)).To(Succeed())
	trusted = readyTrue(t, trusted)
	g.Expect(trusted.Status.LastScanResult.LatestTags).To(Equal([]string{"1.0.0"}))

	pushImage(t, ns+"/via-sa", "2.0.0")
	dockerSecret(t, ns, "pull", regPassword)
	g.Expect(env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "puller"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}}})).To(Succeed())
	viaSA := newRepository(ns, "via-sa", ns+"/via-sa")
	viaSA.Spec.SecretRef = nil
	viaSA.Spec.ServiceAccountName = "puller"
	g.Expect(env.Client.Create(ctx, viaSA)).To(Succeed())
	viaSA = readyTrue(t, viaSA)
	g.Expect(viaSA.Status.LastScanResult.TagCount).To(Equal(1))
}
