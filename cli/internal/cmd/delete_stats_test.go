package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
)

// runWithInput is run with stdin.
func runWithInput(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := NewRoot(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"--kubeconfig", env.Kubeconfig, "--timeout", "60s"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func newGitRepo(t *testing.T, ns, name string, suspend bool) *sourcev1.GitRepository {
	t.Helper()
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: sourcev1.GitRepositorySpec{URL: "https://example.com/" + name, Interval: metav1.Duration{Duration: time.Minute}, Suspend: suspend}}
	if err := env.Client.Create(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	return repo
}

func TestDelete(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	newGitRepo(t, ns, "app", false)

	_, err := runWithInput(t, "n\n", "-n", ns, "delete", "source", "git", "app")
	g.Expect(err).To(MatchError(ContainSubstring("aborted")))
	g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &sourcev1.GitRepository{})).To(Succeed())

	out, err := runWithInput(t, "y\n", "-n", ns, "delete", "source", "git", "app")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("✔ source git deleted"))
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &sourcev1.GitRepository{}))).To(BeTrue())

	newGitRepo(t, ns, "other", false)
	out, err = run(t, "-n", ns, "delete", "gitrepository", "other", "--silent")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("► deleting source git other in " + ns + " namespace\n✔ source git deleted\n"))

	_, err = run(t, "-n", ns, "delete", "ks", "missing", "-s")
	g.Expect(err).To(MatchError(ContainSubstring("not found")))
}

func TestEnvsubst(t *testing.T) {
	g := NewWithT(t)
	t.Setenv("GOTK_TEST_REGION", "eu-west-1")
	out, err := runWithInput(t, "region: ${GOTK_TEST_REGION}\nsize: ${GOTK_TEST_SIZE:=small}\nkeep: $${literal}\nmissing: '${GOTK_TEST_UNSET}'\n", "envsubst")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("region: eu-west-1\nsize: small\nkeep: ${literal}\nmissing: ''\n"))

	_, err = runWithInput(t, "x: ${GOTK_TEST_UNSET}\n", "envsubst", "--strict")
	g.Expect(err).To(MatchError(ContainSubstring("GOTK_TEST_UNSET")))
}

// TestStats counts running, failing and suspended GitRepositories and sums
// their artifacts' sizes.
func TestStats(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	size := int64(3 * 1024)
	ok := newGitRepo(t, ns, "ok", false)
	ok.Status.Artifact = &meta.Artifact{Path: "p", URL: "http://x/p", Revision: "main@sha1:1", Digest: "sha256:0", Size: &size, LastUpdateTime: metav1.Now()}
	g.Expect(env.Client.Status().Update(ctx, ok)).To(Succeed())
	bad := newGitRepo(t, ns, "bad", false)
	bad.Status.Conditions = []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, Reason: "GitOperationFailed",
		Message: "no", LastTransitionTime: metav1.Now()}}
	g.Expect(env.Client.Status().Update(ctx, bad)).To(Succeed())
	newGitRepo(t, ns, "paused", true)

	out, err := run(t, "-n", ns, "stats")
	g.Expect(err).NotTo(HaveOccurred())
	lines := strings.Split(out, "\n")
	g.Expect(strings.Fields(lines[0])).To(Equal([]string{"RECONCILERS", "RUNNING", "FAILING", "SUSPENDED", "STORAGE"}))
	g.Expect(strings.Fields(lines[1])).To(Equal([]string{"GitRepository", "2", "1", "1", "3.0", "KiB"}))
	g.Expect(out).To(MatchRegexp(`(?m)^Kustomization\s+0\s+0\s+0\s+-$`))
}

// TestSuspendResumeAll suspends and resumes every GitRepository of a
// namespace; --wait=false returns without waiting for a controller.
func TestSuspendResumeAll(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	newGitRepo(t, ns, "a", false)
	newGitRepo(t, ns, "b", false)
	suspended := func() []bool {
		var list sourcev1.GitRepositoryList
		g.Expect(env.Client.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		var out []bool
		for _, r := range list.Items {
			out = append(out, r.Spec.Suspend)
		}
		return out
	}
	_, err := run(t, "-n", ns, "suspend", "source", "git", "--all")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(suspended()).To(Equal([]bool{true, true}))
	out, err := run(t, "-n", ns, "resume", "source", "git", "--all", "--wait=false")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("source git " + ns + "/b resumed"))
	g.Expect(suspended()).To(Equal([]bool{false, false}))
	_, err = run(t, "-n", ns, "suspend", "source", "git")
	g.Expect(err).To(MatchError(ContainSubstring("or pass --all")))
}

// TestGetArtifactGenerators lists ArtifactGenerators as Flux's
// `get artifact generators` does, and suspends one through its annotation.
func TestGetArtifactGenerators(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	gen := &sourceextv1beta1.ArtifactGenerator{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bundles"}}
	gen.Spec.Sources = []sourceextv1beta1.SourceReference{{Alias: "repo", Kind: "GitRepository", Name: "app"}}
	gen.Spec.OutputArtifacts = []sourceextv1beta1.OutputArtifact{{Name: "app", Copy: []sourceextv1beta1.CopyOperation{{From: "@repo/**", To: "@artifact/"}}}}
	g.Expect(env.Client.Create(ctx, gen)).To(Succeed())

	out, err := run(t, "-n", ns, "get", "artifacts", "generators")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`(?m)^bundles\s+false\s+Unknown`))
	_, err = run(t, "-n", ns, "suspend", "artifact", "generator", "bundles")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(gen), gen)).To(Succeed())
	g.Expect(gen.IsSuspended()).To(BeTrue())

	out, err = run(t, "-n", ns, "get", "sources", "external")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("no source external objects found"))
}
