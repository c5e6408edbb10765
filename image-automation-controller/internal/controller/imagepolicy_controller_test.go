package controller

import (
	"context"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/acl"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagev1 "gotk.dev/pkg/apis/image/v1"
)

func semverPolicy(r string) imagev1.ImagePolicyChoice {
	return imagev1.ImagePolicyChoice{SemVer: &imagev1.SemVerPolicy{Range: r}}
}

// scannedRepository pushes the tags, creates a repository for them and
// waits for its first scan.
func scannedRepository(t *testing.T, ns, name string, tags ...string) *imagev1.ImageRepository {
	t.Helper()
	pushImage(t, ns+"/"+name, tags...)
	repo := newRepository(ns, name, ns+"/"+name)
	if err := env.Client.Create(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	return readyTrue(t, repo)
}

// Each rule picks its tag from the same scanned repository.
func TestImagePolicyRules(t *testing.T) {
	ctx := context.Background()
	ns := env.NewNamespace(t)
	dockerSecret(t, ns, "creds", regPassword)
	scannedRepository(t, ns, "app", "v1.0.0", "v1.2.3", "v1.3.0-rc.1", "latest",
		"main-0a1b-1700000100", "main-ff00-1700000200", "main-c0de-99")
	for _, tc := range []struct {
		name    string
		choice  imagev1.ImagePolicyChoice
		filter  *imagev1.TagFilter
		wantTag string
	}{
		{name: "semver-v-prefix", choice: semverPolicy(">=1.0.0"), wantTag: "v1.2.3"},
		{name: "semver-prerelease", choice: semverPolicy(">=1.0.0-0"), wantTag: "v1.3.0-rc.1"},
		{name: "semver-bounded", choice: semverPolicy("~1.0"), wantTag: "v1.0.0"},
		{name: "numerical-extract", choice: imagev1.ImagePolicyChoice{Numerical: &imagev1.NumericalPolicy{Order: "asc"}},
			filter: &imagev1.TagFilter{Pattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)`, Extract: "$ts"}, wantTag: "main-ff00-1700000200"},
		{name: "numerical-desc", choice: imagev1.ImagePolicyChoice{Numerical: &imagev1.NumericalPolicy{Order: "desc"}},
			filter: &imagev1.TagFilter{Pattern: `^main-[a-f0-9]+-(?P<ts>[0-9]+)`, Extract: "$ts"}, wantTag: "main-c0de-99"},
		{name: "alphabetical-extract", choice: imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{Order: "asc"}},
			filter: &imagev1.TagFilter{Pattern: `^main-(?P<sha>[a-f0-9]+)-`, Extract: "$sha"}, wantTag: "main-ff00-1700000200"},
		{name: "alphabetical-desc", choice: imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{Order: "desc"}}, wantTag: "latest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPolicy(ns, tc.name, "app", tc.choice)
			p.Spec.FilterTags = tc.filter
			NewWithT(t).Expect(env.Client.Create(ctx, p)).To(Succeed())
			p = readyTrue(t, p)
			NewWithT(t).Expect(p.Status.LatestRef).To(Equal(&imagev1.ImageRef{Name: reg.Host() + "/" + ns + "/app", Tag: tc.wantTag}))
		})
	}
}

// A push of a newer tag flows through the repository scan to the policy:
// latestRef moves, observedPreviousRef keeps the old one, an event says so.
// Digests are reflected as the policy asks.
func TestImagePolicyFollowsNewTags(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	dockerSecret(t, ns, "creds", regPassword)
	repo := scannedRepository(t, ns, "app", "1.0.0", "1.2.3")

	p := newPolicy(ns, "app", "app", semverPolicy(">=1.0.0"))
	g.Expect(env.Client.Create(ctx, p)).To(Succeed())
	p = readyTrue(t, p)
	g.Expect(p.Status.LatestRef.Tag).To(Equal("1.2.3"))
	g.Expect(p.Status.LatestRef.Digest).To(BeEmpty(), "Never is the default")
	g.Expect(p.Status.ObservedPreviousRef).To(BeNil())
	waitEvent(t, p, "Latest image tag for "+reg.Host()+"/"+ns+"/app resolved to 1.2.3")

	withDigest := newPolicy(ns, "digest", "app", semverPolicy(">=1.0.0"))
	withDigest.Spec.DigestReflectionPolicy = imagev1.ReflectIfNotPresent
	g.Expect(env.Client.Create(ctx, withDigest)).To(Succeed())
	withDigest = readyTrue(t, withDigest)
	g.Expect(withDigest.Status.LatestRef.Digest).To(HavePrefix("sha256:"))
	firstDigest := withDigest.Status.LatestRef.Digest

	img := pushImage(t, ns+"/app", "1.2.4", "2.0.0-rc.1")
	want, _ := img.Digest()
	requestReconcile(t, repo)
	p = eventually(t, p, func(g Gomega, p *imagev1.ImagePolicy) {
		g.Expect(p.Status.LatestRef.Tag).To(Equal("1.2.4"))
	})
	g.Expect(p.Status.ObservedPreviousRef).To(Equal(&imagev1.ImageRef{Name: reg.Host() + "/" + ns + "/app", Tag: "1.2.3"}))
	g.Expect(conditions.GetMessage(p, meta.ReadyCondition)).To(Equal("Latest image tag for " + reg.Host() + "/" + ns + "/app resolved to 1.2.4"))
	waitEvent(t, p, "Latest image tag for "+reg.Host()+"/"+ns+"/app updated from 1.2.3 to 1.2.4")

	withDigest = eventually(t, withDigest, func(g Gomega, p *imagev1.ImagePolicy) {
		g.Expect(p.Status.LatestRef.Tag).To(Equal("1.2.4"))
	})
	g.Expect(withDigest.Status.LatestRef.Digest).To(Equal(want.String()))
	g.Expect(withDigest.Status.ObservedPreviousRef.Digest).To(Equal(firstDigest))

	always := newPolicy(ns, "always", "app", semverPolicy(">=1.0.0"))
	always.Spec.DigestReflectionPolicy = imagev1.ReflectAlways
	always.Spec.Interval = &metav1.Duration{Duration: time.Minute}
	g.Expect(env.Client.Create(ctx, always)).To(Succeed())
	always = readyTrue(t, always)
	g.Expect(always.Status.LatestRef.Digest).To(Equal(want.String()))
}

// Invalid specs stall with the parse error; a repository that does not
// exist yet is waited for and picked up when it appears.
func TestImagePolicyInvalidAndWaiting(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	dockerSecret(t, ns, "creds", regPassword)

	badRange := newPolicy(ns, "bad-range", "app", semverPolicy(">= one"))
	g.Expect(env.Client.Create(ctx, badRange)).To(Succeed())
	stalled(t, badRange, imagev1.InvalidPolicyReason, `invalid semver range ">= one"`)

	badRegex := newPolicy(ns, "bad-regex", "app", imagev1.ImagePolicyChoice{Alphabetical: &imagev1.AlphabeticalPolicy{}})
	badRegex.Spec.FilterTags = &imagev1.TagFilter{Pattern: "^main-(", Extract: "$ts"}
	g.Expect(env.Client.Create(ctx, badRegex)).To(Succeed())
	stalled(t, badRegex, imagev1.InvalidPolicyReason, `invalid filterTags.pattern "^main-("`)

	early := newPolicy(ns, "early", "later", semverPolicy(">=1.0.0"))
	g.Expect(env.Client.Create(ctx, early)).To(Succeed())
	notReady(t, early, imagev1.DependencyNotReadyReason, "ImageRepository "+ns+"/later not found")

	noMatch := newPolicy(ns, "no-match", "later", semverPolicy(">=5.0.0"))
	g.Expect(env.Client.Create(ctx, noMatch)).To(Succeed())
	numeric := newPolicy(ns, "numeric", "later", imagev1.ImagePolicyChoice{Numerical: &imagev1.NumericalPolicy{}})
	g.Expect(env.Client.Create(ctx, numeric)).To(Succeed())

	scannedRepository(t, ns, "later", "1.0.0", "latest")
	p := readyTrue(t, early)
	g.Expect(p.Status.LatestRef.Tag).To(Equal("1.0.0"))
	notReady(t, noMatch, NoMatchingTagReason, `no version within range ">=5.0.0"`)
	stalled(t, numeric, imagev1.InvalidPolicyReason, `tag "1.0.0" gives "1.0.0", which is not a number`)
}

// A policy in another namespace is refused until the repository's
// accessFrom admits that namespace.
func TestImagePolicyCrossNamespaceAccess(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	repoNS := env.NewNamespace(t)
	dockerSecret(t, repoNS, "creds", regPassword)
	repo := scannedRepository(t, repoNS, "shared", "1.0.0", "1.1.0")

	polNS := env.NewNamespace(t)
	p := newPolicy(polNS, "consumer", "shared", semverPolicy("1.x"))
	p.Spec.ImageRepositoryRef.Namespace = repoNS
	g.Expect(env.Client.Create(ctx, p)).To(Succeed())
	stalled(t, p, acl.AccessDeniedReason, "does not admit ImagePolicies from namespace "+polNS)

	var ns corev1.Namespace
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Name: polNS}, &ns)).To(Succeed())
	ns.Labels["team"] = "payments"
	g.Expect(env.Client.Update(ctx, &ns)).To(Succeed())
	patch := client.MergeFrom(repo.DeepCopy())
	repo.Spec.AccessFrom = &acl.AccessFrom{NamespaceSelectors: []acl.NamespaceSelector{{MatchLabels: map[string]string{"team": "payments"}}}}
	g.Expect(env.Client.Patch(ctx, repo, patch)).To(Succeed())

	p = readyTrue(t, p)
	g.Expect(p.Status.LatestRef.Tag).To(Equal("1.1.0"))
}
