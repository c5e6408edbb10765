package controller

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/testserver"
)

// fetchFiles downloads art from the artifact server, verifies its digest
// and returns the relative paths of the files it holds.
func fetchFiles(g Gomega, art *meta.Artifact) []string {
	dir, err := os.MkdirTemp("", "fetched-")
	g.Expect(err).NotTo(HaveOccurred())
	defer os.RemoveAll(dir)
	g.Expect(artifact.NewFetcher(1, 10*time.Second, 0).Fetch(context.Background(), art.URL, art.Digest, dir)).To(Succeed())
	var files []string
	g.Expect(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})).To(Succeed())
	sort.Strings(files)
	return files
}

// newArtifactEvents returns the NewArtifact events the sink received for
// the GitRepository ns/name, as revision metadata values (the harness's
// sink is shared by every test and kind).
func newArtifactEvents(h *harness, ns, name string) []string {
	var revs []string
	for _, r := range h.sink.Requests() {
		var ev struct {
			InvolvedObject  struct{ Namespace, Name, Kind string } `json:"involvedObject"`
			Reason, Message string
			Metadata        map[string]string
		}
		if r.JSON(&ev) != nil || ev.InvolvedObject.Kind != sourcev1.GitRepositoryKind || ev.InvolvedObject.Namespace != ns || ev.InvolvedObject.Name != name || ev.Reason != reasonNewArtifact {
			continue
		}
		revs = append(revs, ev.Metadata[sourcev1.GroupVersion.Group+"/revision"]+" "+ev.Message)
	}
	return revs
}

// TestGitRepositoryLifecycle is the main story over smart HTTP: fetch,
// artifact with ignore rules served by the artifact server, NewArtifact
// event, an unchanged remote that is listed but not cloned, a push that
// yields a new artifact and event, retention, and deletion.
func TestGitRepositoryLifecycle(t *testing.T) {
	g := NewWithT(t)
	h := startHarness(t)
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	first, err := srv.CommitFiles("app", "main", map[string]string{
		"deploy/app.yaml": "kind: ConfigMap",
		"deploy/logo.png": "png",
		"secret/key.yaml": "secret",
		".sourceignore":   "*.md\n",
		"README.md":       "readme",
		".github/ci.yaml": "ci",
	}, "first commit")
	g.Expect(err).NotTo(HaveOccurred())

	obj := newGitRepository(ns, "app", srv.URL("app"), &sourcev1.GitRepositoryRef{Branch: "main"})
	ignore := "/secret/\n"
	obj.Spec.Ignore = &ignore
	g.Expect(env.Client.Create(context.Background(), obj)).To(Succeed())

	got := waitReady(g, obj)
	art := got.Status.Artifact
	g.Expect(art).NotTo(BeNil())
	g.Expect(art.Revision).To(Equal("main@sha1:" + first))
	g.Expect(art.Digest).To(HavePrefix("sha256:"))
	g.Expect(art.URL).To(Equal(h.server.URL + "/gitrepository/" + ns + "/app/" + first + ".tar.gz"))
	g.Expect(conditions.GetMessage(got, meta.ReadyCondition)).To(Equal("stored artifact for revision 'main@sha1:" + first + "'"))
	g.Expect(conditions.IsTrue(got, sourcev1.ArtifactInStorageCondition)).To(BeTrue())
	g.Expect(got.Status.ObservedIgnore).To(Equal(&ignore))
	g.Expect(fetchFiles(g, art)).To(Equal([]string{".sourceignore", "deploy/app.yaml"}))
	g.Eventually(func() []string { return newArtifactEvents(h, ns, "app") }, 10*time.Second, 50*time.Millisecond).
		Should(ConsistOf("main@sha1:" + first + " stored artifact for commit 'first commit'"))

	// Unchanged remote: the reconcile lists refs but fetches nothing.
	posts, lists := srv.RequestCount("POST", "/app/git-upload-pack"), srv.RequestCount("GET", "/app/info/refs")
	got = requestReconcile(g, obj)
	g.Expect(srv.RequestCount("POST", "/app/git-upload-pack")).To(Equal(posts), "no clone for an unchanged remote")
	g.Expect(srv.RequestCount("GET", "/app/info/refs")).To(Equal(lists + 1))
	g.Expect(got.Status.Artifact.Digest).To(Equal(art.Digest))
	g.Expect(conditions.IsReady(got)).To(BeTrue())

	// A push: new artifact and event.
	second, err := srv.CommitFiles("app", "main", map[string]string{"deploy/app.yaml": "kind: Secret"}, "second commit\n\nbody")
	g.Expect(err).NotTo(HaveOccurred())
	got = requestReconcile(g, obj)
	g.Expect(got.Status.Artifact.Revision).To(Equal("main@sha1:" + second))
	g.Expect(srv.RequestCount("POST", "/app/git-upload-pack")).To(Equal(posts + 1))
	g.Eventually(func() []string { return newArtifactEvents(h, ns, "app") }, 10*time.Second, 50*time.Millisecond).
		Should(ContainElement("main@sha1:" + second + " stored artifact for commit 'second commit'"))

	// A third commit: retention keeps two artifacts.
	third, err := srv.CommitFiles("app", "main", map[string]string{"deploy/more.yaml": "x"}, "third")
	g.Expect(err).NotTo(HaveOccurred())
	got = requestReconcile(g, obj)
	g.Expect(got.Status.Artifact.Revision).To(Equal("main@sha1:" + third))
	dir := filepath.Join(h.storage.BasePath, "gitrepository", ns, "app")
	entries, err := os.ReadDir(dir)
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	g.Expect(names).To(ConsistOf(second+".tar.gz", third+".tar.gz"))

	// An ignore change rebuilds from the same commit without a new event.
	events := len(newArtifactEvents(h, ns, "app"))
	got.Spec.Ignore = nil
	g.Expect(env.Client.Update(context.Background(), got)).To(Succeed())
	got = waitReady(g, got)
	g.Expect(fetchFiles(g, got.Status.Artifact)).To(ContainElement("secret/key.yaml"))

	// Delete: the finalizer removes every artifact file and the cached
	// checkouts of the object (no other object uses them).
	checkouts := h.reconciler.Cache.OwnedDirs(ns + "/app")
	g.Expect(checkouts).NotTo(BeEmpty())
	g.Expect(env.Client.Delete(context.Background(), got)).To(Succeed())
	g.Eventually(func() bool { _, err := os.Stat(dir); return os.IsNotExist(err) }, 30*time.Second, 100*time.Millisecond).Should(BeTrue())
	for _, d := range checkouts {
		g.Eventually(func() bool { _, err := os.Stat(d); return os.IsNotExist(err) }, 30*time.Second, 100*time.Millisecond).Should(BeTrue(), "checkout %s", d)
	}
	g.Expect(len(newArtifactEvents(h, ns, "app")) - events).To(BeNumerically("<=", 1))
}

// TestGitRepositoryRefKinds checks each reference kind's revision.
func TestGitRepositoryRefKinds(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	c1, err := srv.CommitFiles("app", "master", map[string]string{"v": "1"}, "one")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Tag("app", "v1.0.0", c1)).To(Succeed())
	c2, err := srv.CommitFiles("app", "master", map[string]string{"v": "2"}, "two")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.AnnotatedTag("app", "v1.2.0", c2, "release")).To(Succeed())
	g.Expect(srv.Tag("app", "v2.0.0", c2)).To(Succeed())
	c3, err := srv.CommitFiles("app", "feature", map[string]string{"v": "3"}, "three")
	g.Expect(err).NotTo(HaveOccurred())

	cases := map[string]struct {
		ref  *sourcev1.GitRepositoryRef
		want string
	}{
		"default":   {nil, "master@sha1:" + c2},
		"branch":    {&sourcev1.GitRepositoryRef{Branch: "feature"}, "feature@sha1:" + c3},
		"tag":       {&sourcev1.GitRepositoryRef{Tag: "v1.0.0", Branch: "feature"}, "v1.0.0@sha1:" + c1},
		"annotated": {&sourcev1.GitRepositoryRef{Tag: "v1.2.0"}, "v1.2.0@sha1:" + c2},
		"semver":    {&sourcev1.GitRepositoryRef{SemVer: "1.x", Tag: "v2.0.0"}, "v1.2.0@sha1:" + c2},
		"name":      {&sourcev1.GitRepositoryRef{Name: "refs/heads/feature", SemVer: "1.x"}, "refs/heads/feature@sha1:" + c3},
		"commit":    {&sourcev1.GitRepositoryRef{Commit: c1, Name: "refs/heads/feature"}, "sha1:" + c1},
		"commit-br": {&sourcev1.GitRepositoryRef{Commit: c1, Branch: "master"}, "master@sha1:" + c1},
	}
	for name, c := range cases {
		g.Expect(env.Client.Create(context.Background(), newGitRepository(ns, name, srv.URL("app"), c.ref))).To(Succeed())
	}
	for name, c := range cases {
		got := waitReady(g, newGitRepository(ns, name, "", nil))
		g.Expect(got.Status.Artifact.Revision).To(Equal(c.want), name)
	}
}

// TestGitRepositoryInclude includes one repository's artifact into
// another's at toPath, and reports an include that does not exist.
func TestGitRepositoryInclude(t *testing.T) {
	g := NewWithT(t)
	startHarness(t)
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("lib", "master", map[string]string{"base/a.yaml": "a", "other/b.yaml": "b"}, "lib")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CommitFiles("app", "master", map[string]string{"app.yaml": "app"}, "app")
	g.Expect(err).NotTo(HaveOccurred())

	lib := newGitRepository(ns, "lib", srv.URL("lib"), nil)
	g.Expect(env.Client.Create(context.Background(), lib)).To(Succeed())
	app := newGitRepository(ns, "app", srv.URL("app"), nil)
	app.Spec.Include = []sourcev1.GitRepositoryInclude{{GitRepositoryRef: meta.LocalObjectReference{Name: "lib"}, FromPath: "base", ToPath: "vendor/lib"}}
	g.Expect(env.Client.Create(context.Background(), app)).To(Succeed())
	got := waitReady(g, app)
	g.Expect(fetchFiles(g, got.Status.Artifact)).To(Equal([]string{"app.yaml", "vendor/lib/a.yaml"}))
	g.Expect(got.Status.IncludedArtifacts).To(HaveLen(1))
	g.Expect(got.Status.ObservedInclude).To(Equal(app.Spec.Include))

	// A new commit in the included repository rebuilds the includer.
	_, err = srv.CommitFiles("lib", "master", map[string]string{"base/c.yaml": "c"}, "lib 2")
	g.Expect(err).NotTo(HaveOccurred())
	requestReconcile(g, lib)
	g.Eventually(func(g Gomega) {
		g.Expect(fetchFiles(g, get(g, app).Status.Artifact)).To(ContainElement("vendor/lib/c.yaml"))
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())

	// sparseCheckout limits the artifact to the listed directories.
	sparse := newGitRepository(ns, "sparse", srv.URL("lib"), nil)
	sparse.Spec.SparseCheckout = []string{"other/"}
	g.Expect(env.Client.Create(context.Background(), sparse)).To(Succeed())
	got = waitReady(g, sparse)
	g.Expect(fetchFiles(g, got.Status.Artifact)).To(Equal([]string{"other/b.yaml"}))
	g.Expect(got.Status.ObservedSparseCheckout).To(Equal([]string{"other/"}))

	// A toPath or fromPath leaving the tree stalls naming the path.
	for name, inc := range map[string]sourcev1.GitRepositoryInclude{
		"escape-to":   {GitRepositoryRef: meta.LocalObjectReference{Name: "lib"}, ToPath: "../outside"},
		"escape-from": {GitRepositoryRef: meta.LocalObjectReference{Name: "lib"}, FromPath: "../../etc", ToPath: "vendor"},
	} {
		bad := newGitRepository(ns, name, srv.URL("app"), nil)
		bad.Spec.Include = []sourcev1.GitRepositoryInclude{inc}
		g.Expect(env.Client.Create(context.Background(), bad)).To(Succeed())
		got = waitCondition(g, bad, meta.StalledCondition, metav1.ConditionTrue, sourcev1.InvalidPathReason)
		g.Expect(conditions.GetMessage(got, meta.StalledCondition)).To(Or(ContainSubstring(`"../outside"`), ContainSubstring(`"../../etc"`)))
	}

	missing := newGitRepository(ns, "missing", srv.URL("app"), nil)
	missing.Spec.Include = []sourcev1.GitRepositoryInclude{{GitRepositoryRef: meta.LocalObjectReference{Name: "nope"}}}
	g.Expect(env.Client.Create(context.Background(), missing)).To(Succeed())
	got = waitCondition(g, missing, sourcev1.IncludeUnavailableCondition, metav1.ConditionTrue, reasonIncludeNotFound)
	g.Expect(conditions.GetMessage(got, sourcev1.IncludeUnavailableCondition)).To(ContainSubstring("'nope'"))
	g.Expect(conditions.IsReady(got)).To(BeFalse())
	g.Expect(strings.Contains(conditions.GetMessage(got, meta.ReadyCondition), "nope")).To(BeTrue())
}

// TestGitRepositorySharedContent checks that GitRepositories producing the
// same artifact share one file on disk, and different content does not.
func TestGitRepositorySharedContent(t *testing.T) {
	g := NewWithT(t)
	h := startHarness(t)
	ns := env.NewNamespace(t)
	srv := testserver.NewGitHTTPForTest(t, testserver.GitHTTPOptions{})
	_, err := srv.CommitFiles("app", "master", map[string]string{"a.yaml": "a", "b.yaml": "b"}, "init")
	g.Expect(err).NotTo(HaveOccurred())
	onlyA := "b.yaml\n"
	objs := []*sourcev1.GitRepository{
		newGitRepository(ns, "one", srv.URL("app"), nil),
		newGitRepository(ns, "two", srv.URL("app"), nil),
		newGitRepository(ns, "other", srv.URL("app"), nil),
	}
	objs[2].Spec.Ignore = &onlyA
	var infos []os.FileInfo
	for _, o := range objs {
		g.Expect(env.Client.Create(context.Background(), o)).To(Succeed())
		got := waitReady(g, o)
		p, err := h.storage.LocalPath(*got.Status.Artifact)
		g.Expect(err).NotTo(HaveOccurred())
		fi, err := os.Stat(p)
		g.Expect(err).NotTo(HaveOccurred())
		infos = append(infos, fi)
	}
	g.Expect(os.SameFile(infos[0], infos[1])).To(BeTrue(), "identical artifacts share storage")
	g.Expect(os.SameFile(infos[0], infos[2])).To(BeFalse())
}
