package controller

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// seedAppRepo is the guide's application repository with its marker.
var seedAppRepo = filepath.Join("..", "..", "..", "examples", "seed", "app-repo-corrected")

const seedPatchPath = "overlays/production/deployment-patch.yaml"

// gitOut runs git against a bare repository of the test server.
func gitOut(t *testing.T, repo string, args ...string) string {
	t.Helper()
	dir, err := gitSrv.Path(repo)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", append([]string{"--git-dir", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func head(t *testing.T, repo, branch string) string {
	t.Helper()
	sha, err := gitSrv.Resolve(repo, branch)
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// gitSource creates the app repository from the seed, a credentials
// Secret and a GitRepository for it.
func gitSource(t *testing.T, ns, repo, password string) {
	t.Helper()
	if _, err := gitSrv.InitRepoFromDir(repo, seedAppRepo, "main"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "git-creds"},
		Data: map[string][]byte{"username": []byte(gitUser), "password": []byte(password)}}
	if err := env.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	gr := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: repo},
		Spec: sourcev1.GitRepositorySpec{
			URL:       gitSrv.URL(repo),
			Interval:  metav1.Duration{Duration: time.Hour},
			SecretRef: &meta.LocalObjectReference{Name: "git-creds"},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
		},
	}
	if err := env.Client.Create(ctx, gr); err != nil {
		t.Fatal(err)
	}
}

func newAutomation(ns, name, repo string) *imagev1.ImageUpdateAutomation {
	return &imagev1.ImageUpdateAutomation{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: imagev1.ImageUpdateAutomationSpec{
			SourceRef: imagev1.CrossNamespaceSourceReference{Kind: imagev1.GitRepositoryKind, Name: repo},
			Interval:  metav1.Duration{Duration: time.Hour},
			GitSpec: &imagev1.GitSpec{
				Checkout: &imagev1.GitCheckoutSpec{Reference: imagev1.GitRepositoryRef{Branch: "main"}},
				Commit: imagev1.CommitSpec{
					Author:          imagev1.CommitUser{Name: "flux-bot", Email: "flux@myorg.com"},
					MessageTemplate: "chore: update {{.AutomationObject}} images\n\n{{range $f, $o := .Changed.FileChanges}}{{$f}}\n{{end}}",
				},
			},
			Update: &imagev1.UpdateStrategy{Strategy: imagev1.UpdateStrategySetters, Path: "./overlays/production"},
		},
	}
}

// policyAt creates a policy named my-app in ns whose latestRef is set by
// a scanned repository holding the tags.
func policyAt(t *testing.T, ns, path string, tags ...string) *imagev1.ImagePolicy {
	t.Helper()
	pushImage(t, path, tags...)
	dockerSecret(t, ns, "creds", regPassword)
	repo := newRepository(ns, "my-app", path)
	if err := env.Client.Create(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	readyTrue(t, repo)
	p := newPolicy(ns, "my-app", "my-app", semverPolicy(">=1.0.0"))
	if err := env.Client.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return readyTrue(t, p)
}

// The automation rewrites the marked line of a copy of the seed app repo
// to the chosen image, pushes to the same branch and then to another
// branch, and makes no commit when nothing changes.
func TestImageUpdateAutomationPushes(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	repo := ns + "-app"
	gitSource(t, ns, repo, gitPassword)
	before := head(t, repo, "main")

	// The seed's marker names flux-system:my-app; this story's policy is
	// in its own namespace, so point the marker there.
	patch := gitOut(t, repo, "show", "main:"+seedPatchPath)
	patch = strings.Replace(patch, `"flux-system:my-app"`, `"`+ns+`:my-app"`, 1)
	if _, err := gitSrv.CommitFiles(repo, "main", map[string]string{seedPatchPath: patch + "\n"}, "point marker at test namespace"); err != nil {
		t.Fatal(err)
	}
	before = head(t, repo, "main")
	image := reg.Host() + "/" + ns + "/my-app"
	policyAt(t, ns, ns+"/my-app", "v1.2.3", "v1.2.4")

	auto := newAutomation(ns, "same-branch", repo)
	g.Expect(env.Client.Create(ctx, auto)).To(Succeed())
	auto = readyTrue(t, auto)
	g.Expect(conditions.GetMessage(auto, meta.ReadyCondition)).To(HavePrefix("committed and pushed commit '"))
	after := head(t, repo, "main")
	g.Expect(after).NotTo(Equal(before))
	g.Expect(auto.Status.LastPushCommit).To(Equal(after))
	g.Expect(auto.Status.LastPushTime).NotTo(BeNil())
	g.Expect(auto.Status.ObservedPolicies).To(HaveKeyWithValue("my-app", imagev1.ImageRef{Name: image, Tag: "v1.2.4"}))
	g.Expect(gitOut(t, repo, "log", "-1", "--format=%s%n%an <%ae>", "main")).To(Equal("chore: update " + ns + "/same-branch images\nflux-bot <flux@myorg.com>"))
	g.Expect(gitOut(t, repo, "diff", "--numstat", before, after)).To(Equal("1\t1\t" + seedPatchPath))
	g.Expect(gitOut(t, repo, "show", "main:"+seedPatchPath)).To(ContainSubstring("image: " + image + ":v1.2.4  # {\"$imagepolicy\": \"" + ns + ":my-app\"}"))
	waitEvent(t, auto, "committed and pushed commit '"+after[:7]+"' to branch 'main'")

	// Nothing to change: no commit.
	requestReconcile(t, auto)
	auto = eventually(t, auto, func(g Gomega, a *imagev1.ImageUpdateAutomation) {
		g.Expect(a.Status.LastHandledReconcileAt).To(Equal(a.Annotations[meta.ReconcileRequestAnnotation]))
	})
	g.Expect(conditions.GetMessage(auto, meta.ReadyCondition)).To(Equal("repository up-to-date"))
	g.Expect(head(t, repo, "main")).To(Equal(after))

	// Another branch: created from main with the change, main untouched.
	// The first automation goes first, or it would push to main the change
	// the second one is to make on its branch.
	g.Expect(env.Client.Delete(ctx, auto)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(auto), auto))
	}, 30*time.Second, 100*time.Millisecond).Should(BeTrue())
	pushImage(t, ns+"/my-app", "v1.3.0")
	other := newAutomation(ns, "other-branch", repo)
	other.Spec.GitSpec.Push = &imagev1.PushSpec{Branch: "auto"}
	g.Expect(env.Client.Create(ctx, other)).To(Succeed())
	requestReconcile(t, &imagev1.ImageRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}})
	eventually(t, other, func(g Gomega, a *imagev1.ImageUpdateAutomation) {
		g.Expect(a.Status.LastPushCommit).NotTo(BeEmpty())
		g.Expect(a.Status.ObservedPolicies["my-app"].Tag).To(Equal("v1.3.0"))
	})
	g.Expect(gitOut(t, repo, "show", "auto:"+seedPatchPath)).To(ContainSubstring(image + ":v1.3.0"))
	g.Expect(head(t, repo, "main")).To(Equal(after), "main is untouched")
	g.Expect(gitOut(t, repo, "rev-parse", "auto^")).To(Equal(after), "auto starts from main")
}

// When the branch moves between clone and push, the automation starts
// again from the new head and pushes on top of it.
func TestImageUpdateAutomationRetriesOnMovedBranch(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	repo := ns + "-race"
	gitSource(t, ns, repo, gitPassword)
	patch := strings.Replace(gitOut(t, repo, "show", "main:"+seedPatchPath), `"flux-system:my-app"`, `"`+ns+`:my-app"`, 1)
	if _, err := gitSrv.CommitFiles(repo, "main", map[string]string{seedPatchPath: patch + "\n"}, "marker"); err != nil {
		t.Fatal(err)
	}
	policyAt(t, ns, ns+"/my-app", "v2.0.0")

	var concurrent string
	r := &ImageUpdateAutomationReconciler{Client: env.Client, beforePush: func(attempt int) {
		if attempt == 1 {
			sha, err := gitSrv.CommitFiles(repo, "main", map[string]string{"README.md": "moved\n"}, "concurrent change")
			if err != nil {
				t.Error(err)
			}
			concurrent = sha
		}
	}}
	obj := newAutomation(ns, "race", repo)
	_, msg, err := r.Reconcile(ctx, obj)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(msg).To(HavePrefix("committed and pushed"))
	g.Expect(head(t, repo, "main")).To(Equal(obj.Status.LastPushCommit))
	g.Expect(gitOut(t, repo, "rev-parse", "main^")).To(Equal(concurrent))
	g.Expect(gitOut(t, repo, "show", "main:"+seedPatchPath)).To(ContainSubstring(":v2.0.0"))

	// A branch that never stops moving gives up after the bounded attempts.
	r.beforePush = func(attempt int) {
		_, _ = gitSrv.CommitFiles(repo, "main", map[string]string{"README.md": time.Now().String()}, "again")
	}
	pushImage(t, ns+"/my-app", "v2.0.1")
	p := &imagev1.ImagePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}}
	requestReconcile(t, &imagev1.ImageRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "my-app"}})
	eventually(t, p, func(g Gomega, p *imagev1.ImagePolicy) { g.Expect(p.Status.LatestRef.Tag).To(Equal("v2.0.1")) })
	_, _, err = r.Reconcile(ctx, newAutomation(ns, "race", repo))
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("gave up after 3 push attempts"))
	g.Expect(reconcile.Classify(err, "").Reason).To(Equal(imagev1.GitOperationFailedReason))
}

// Malformed markers or YAML fail with UpdateFailed and push nothing; wrong
// Git credentials fail with AuthenticationFailed naming the host; invalid
// specs stall.
func TestImageUpdateAutomationFailures(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	repo := ns + "-bad"
	gitSource(t, ns, repo, gitPassword)
	policyAt(t, ns, ns+"/my-app", "v1.0.0")
	if _, err := gitSrv.CommitFiles(repo, "main", map[string]string{
		"overlays/production/broken.yaml": "image: x # {\"$imagepolicy\": " + ns + ":my-app}\n",
	}, "bad marker"); err != nil {
		t.Fatal(err)
	}
	before := head(t, repo, "main")
	bad := newAutomation(ns, "bad-marker", repo)
	g.Expect(env.Client.Create(ctx, bad)).To(Succeed())
	notReady(t, bad, imagev1.UpdateFailedReason, "overlays/production/broken.yaml:1: malformed setter marker")
	g.Expect(head(t, repo, "main")).To(Equal(before))

	if _, err := gitSrv.CommitFiles(repo, "main", map[string]string{
		"overlays/production/broken.yaml": "image: [x # {\"$imagepolicy\": \"" + ns + ":my-app\"}\n",
	}, "bad yaml"); err != nil {
		t.Fatal(err)
	}
	before = head(t, repo, "main")
	requestReconcile(t, bad)
	notReady(t, bad, imagev1.UpdateFailedReason, "overlays/production/broken.yaml: malformed YAML")
	g.Expect(head(t, repo, "main")).To(Equal(before))

	wrongNS := env.NewNamespace(t)
	gitSource(t, wrongNS, wrongNS+"-auth", "wrong-password")
	wrong := newAutomation(wrongNS, "wrong", wrongNS+"-auth")
	g.Expect(env.Client.Create(ctx, wrong)).To(Succeed())
	wrong = notReady(t, wrong, imagev1.AuthenticationFailedReason, "127.0.0.1")
	g.Expect(conditions.GetMessage(wrong, meta.ReadyCondition)).NotTo(ContainSubstring("wrong-password"))

	for _, tc := range []struct {
		name   string
		mutate func(*imagev1.ImageUpdateAutomation)
		reason string
		msg    string
	}{
		{name: "removed-field", mutate: func(a *imagev1.ImageUpdateAutomation) {
			a.Spec.GitSpec.Commit.MessageTemplate = "{{range .Updated.Images}}{{.}}{{end}}"
		}, reason: imagev1.RemovedTemplateFieldReason, msg: ".Updated, which was removed"},
		{name: "bad-template", mutate: func(a *imagev1.ImageUpdateAutomation) {
			a.Spec.GitSpec.Commit.MessageTemplate = "{{.Changed"
		}, reason: InvalidMessageTemplateReason, msg: "invalid commit message template"},
		{name: "bad-selector", mutate: func(a *imagev1.ImageUpdateAutomation) {
			a.Spec.PolicySelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}
		}, reason: imagev1.InvalidPolicySelectorReason, msg: "invalid policySelector"},
		{name: "tag-without-push-branch", mutate: func(a *imagev1.ImageUpdateAutomation) {
			a.Spec.GitSpec.Checkout.Reference = imagev1.GitRepositoryRef{Tag: "v1"}
		}, reason: imagev1.InvalidSourceConfigReason, msg: "spec.git.push.branch is required when checking out a tag"},
		{name: "push-option-newline", mutate: func(a *imagev1.ImageUpdateAutomation) {
			a.Spec.GitSpec.Push = &imagev1.PushSpec{Options: map[string]string{"ci.skip": "", "merge_request.title": "a\nb"}}
		}, reason: imagev1.InvalidSourceConfigReason, msg: `spec.git.push.options: the value of "merge_request.title" holds a newline or NUL`},
		{name: "push-option-key", mutate: func(a *imagev1.ImageUpdateAutomation) {
			a.Spec.GitSpec.Push = &imagev1.PushSpec{Options: map[string]string{"a=b": "c"}}
		}, reason: imagev1.InvalidSourceConfigReason, msg: `spec.git.push.options: key "a=b" holds a newline, NUL or '='`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAutomation(ns, tc.name, repo)
			tc.mutate(a)
			NewWithT(t).Expect(env.Client.Create(ctx, a)).To(Succeed())
			stalled(t, a, tc.reason, tc.msg)
		})
	}
}

// Over SSH the automation authenticates with the identity in the secret
// and checks the host key against known_hosts; a wrong host key is an
// authentication failure and nothing is pushed.
func TestImageUpdateAutomationSSH(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := env.NewNamespace(t)
	repo := ns + "-ssh"
	gitSource(t, ns, repo, gitPassword)
	patch := strings.Replace(gitOut(t, repo, "show", "main:"+seedPatchPath), `"flux-system:my-app"`, `"`+ns+`:my-app"`, 1)
	if _, err := gitSrv.CommitFiles(repo, "main", map[string]string{seedPatchPath: patch + "\n"}, "marker"); err != nil {
		t.Fatal(err)
	}
	before := head(t, repo, "main")
	policyAt(t, ns, ns+"/my-app", "v3.1.0")

	key, err := sshSrv.NewClientKey()
	g.Expect(err).NotTo(HaveOccurred())
	other, err := sshSrv.NewClientKey() // authorized too, but its key is not the host's
	g.Expect(err).NotTo(HaveOccurred())
	for name, knownHosts := range map[string]string{
		"ssh-creds": sshSrv.KnownHostsLine(),
		"ssh-wrong": strings.Replace(sshSrv.KnownHostsLine(), strings.Fields(sshSrv.KnownHostsLine())[2], strings.Fields(other.AuthorizedKey())[1], 1),
	} {
		g.Expect(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Data: map[string][]byte{"identity": key.PrivateKeyPEM, "known_hosts": []byte(knownHosts)}})).To(Succeed())
		gr := &sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: sourcev1.GitRepositorySpec{URL: sshSrv.URL(repo), Interval: metav1.Duration{Duration: time.Hour},
				SecretRef: &meta.LocalObjectReference{Name: name}, Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
		}
		g.Expect(env.Client.Create(ctx, gr)).To(Succeed())
	}

	wrong := newAutomation(ns, "ssh-wrong", "ssh-wrong")
	g.Expect(env.Client.Create(ctx, wrong)).To(Succeed())
	notReady(t, wrong, imagev1.AuthenticationFailedReason, "host key does not match known_hosts")
	g.Expect(head(t, repo, "main")).To(Equal(before))

	auto := newAutomation(ns, "ssh", "ssh-creds")
	g.Expect(env.Client.Create(ctx, auto)).To(Succeed())
	auto = readyTrue(t, auto)
	g.Expect(auto.Status.LastPushCommit).To(Equal(head(t, repo, "main")))
	g.Expect(gitOut(t, repo, "show", "main:"+seedPatchPath)).To(ContainSubstring(":v3.1.0"))
}
