package cmd

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

// stampKind stands in for source-controller's Git logic: it publishes a
// fixed revision, so the CLI can be driven through the real skeleton.
type stampKind struct{}

func (stampKind) Reconcile(_ context.Context, obj *sourcev1.GitRepository) (string, string, error) {
	obj.Status.Artifact = &meta.Artifact{Revision: "main@sha1:0123456789abcdef0123456789abcdef01234567", Path: "x", URL: "http://x/x",
		Digest: "sha256:00", LastUpdateTime: metav1.Now()}
	return "Succeeded", "stored artifact for revision " + obj.Status.Artifact.Revision, nil
}

func (stampKind) Finalize(context.Context, *sourcev1.GitRepository) error { return nil }

func startGitReconciler(t *testing.T) {
	t.Helper()
	mgr := newTestManager(t)
	standIn[*sourcev1.GitRepository](t, mgr, stampKind{}, func() *sourcev1.GitRepository { return &sourcev1.GitRepository{} })
	runManager(t, mgr)
}

func TestDayTwoCommands(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	startGitReconciler(t)
	ns := env.NewNamespace(t)
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: ns},
		Spec:       sourcev1.GitRepositorySpec{URL: "https://example.com/podinfo", Interval: metav1.Duration{Duration: time.Hour}},
	}
	out, err := run(t, "-n", ns, "create", "source", "git", "podinfo", "--url", "https://example.com/podinfo", "--interval", "1h")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("is ready: stored artifact for revision main@sha1:"))

	out, err = run(t, "-n", ns, "reconcile", "source", "git", "podinfo")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("revision main@sha1:0123456789abcdef"))

	out, err = run(t, "-n", ns, "get", "sources", "git")
	g.Expect(err).NotTo(HaveOccurred())
	expectGolden(t, "get-sources-git.golden", out)

	out, err = run(t, "-n", ns, "suspend", "source", "git", "podinfo")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(repo), repo)).To(Succeed())
	g.Expect(repo.Spec.Suspend).To(BeTrue())
	_, err = run(t, "-n", ns, "reconcile", "gitrepository", "podinfo")
	g.Expect(err).To(MatchError(ContainSubstring("gotk resume source git podinfo")))

	out, err = run(t, "-n", ns, "resume", "source", "git", "podinfo")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("reconciliation completed"))

	out, err = run(t, "get", "all", "-A")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`(?m)^%s\s+gitrepository/podinfo\s`, ns))

	out, err = run(t, "-n", ns, "get", "source", "git", "--status-selector", "ready=false")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("no source git objects found"))

	out, err = run(t, "-n", ns, "export", "source", "git", "podinfo")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("kind: GitRepository"))
	g.Expect(out).To(ContainSubstring("url: https://example.com/podinfo"))
	g.Expect(out).NotTo(ContainSubstring("status:"))
	g.Expect(out).NotTo(ContainSubstring("requestedAt"))

	// events reads the Kubernetes events of gotk objects.
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(repo), repo)).To(Succeed())
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "podinfo.1", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "GitRepository", Name: "podinfo", Namespace: ns, UID: repo.UID},
		Type:           corev1.EventTypeNormal, Reason: "NewArtifact", Message: "stored artifact for commit 'init'",
		LastTimestamp: metav1.Now(), Count: 1,
	}
	g.Expect(env.Client.Create(ctx, ev)).To(Succeed())
	out, err = run(t, "-n", ns, "events", "--for", "GitRepository/podinfo")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`Normal\s+NewArtifact\s+GitRepository/podinfo\s+stored artifact for commit 'init'`))

	// trace follows owner labels to the Kustomization and its source.
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: ns},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Prune: true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "podinfo"}},
	}
	g.Expect(env.Client.Create(ctx, ks)).To(Succeed())
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns,
		Labels: map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": ns}}}
	g.Expect(env.Client.Create(ctx, cm)).To(Succeed())
	out, err = run(t, "-n", ns, "trace", "settings", "--kind", "ConfigMap", "--api-version", "v1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`Kustomization:\s+apps`))
	g.Expect(out).To(MatchRegexp(`GitRepository:\s+podinfo`))
	g.Expect(out).To(ContainSubstring("main@sha1:0123456789abcdef"))

	_, err = run(t, "get", "widgets")
	g.Expect(err).To(MatchError(ContainSubstring("unknown kind \"widgets\"")))
	_, err = run(t, "-n", ns, "reconcile", "source", "git", "missing")
	g.Expect(err).To(MatchError(ContainSubstring("not found")))
}

// expectGolden compares out with testdata/name; GOTK_UPDATE_GOLDEN=1 rewrites it.
func expectGolden(t *testing.T, name, out string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("GOTK_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Fatalf("output differs from %s:\n--- got\n%s--- want\n%s", path, out, want)
	}
}
