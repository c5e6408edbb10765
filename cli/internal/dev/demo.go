package dev

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/localcluster"
	"gotk.dev/pkg/localserver"
)

// DemoName names the demo repository and the objects that sync it.
const DemoName = "demo"

// demoToken is the Receiver's webhook token in dev mode (not a secret:
// the local control plane is reachable only from this machine).
const demoToken = "gotk-dev-token"

// demo is the Git repository `gotk dev` syncs and the objects syncing it.
type demo struct {
	git     *localserver.GitHTTP
	repoURL string
	hookURL string
}

// startDemo serves repo (a local directory, default the seed guide's app)
// over Git smart HTTP, or uses it as is when it is a URL, and applies a
// GitRepository, a Kustomization and a Receiver for it.
func startDemo(ctx context.Context, c client.Client, stateDir, repo, path string, receiverPort int) (*demo, error) {
	d := &demo{repoURL: repo}
	if !isURL(repo) {
		if err := d.serveLocal(stateDir, repo); err != nil {
			return nil, err
		}
	}
	if err := applyDemo(ctx, c, d.repoURL, path); err != nil {
		d.close()
		return nil, err
	}
	recv := &notificationv1.Receiver{ObjectMeta: metav1.ObjectMeta{Name: DemoName, Namespace: Namespace}}
	d.hookURL = fmt.Sprintf("http://127.0.0.1:%d%s", receiverPort, recv.GetWebhookPath(demoToken))
	return d, nil
}

func isURL(s string) bool {
	for _, p := range []string{"http://", "https://", "ssh://", "git@"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// serveLocal copies dir into a bare repository under the state directory
// (once: later runs keep its history) and serves it.
func (d *demo) serveLocal(stateDir, dir string) error {
	if dir == "" {
		root, err := localcluster.RepoRoot()
		if err != nil {
			return fmt.Errorf("no --repo given and not inside the gotk repository: %w", err)
		}
		dir = filepath.Join(root, "examples", "seed", "app-repo-corrected")
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("--repo %s: %w", dir, err)
	}
	repos, err := localserver.NewGitRepos(filepath.Join(stateDir, "git"))
	if err != nil {
		return err
	}
	bare, err := repos.Path(DemoName)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bare); os.IsNotExist(err) {
		if err := repos.CreateRepo(DemoName); err != nil {
			return err
		}
		if _, err := repos.InitRepoFromDir(DemoName, dir, "main"); err != nil {
			return fmt.Errorf("importing %s: %w", dir, err)
		}
	}
	if d.git, err = localserver.NewGitHTTP(localserver.GitHTTPOptions{Repos: repos}); err != nil {
		return err
	}
	d.repoURL = d.git.URL(DemoName)
	return nil
}

func (d *demo) close() {
	if d.git != nil {
		d.git.Close()
	}
}

// applyDemo server-side applies the objects that sync the repository.
func applyDemo(ctx context.Context, c client.Client, url, path string) error {
	objs := []client.Object{
		&corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: DemoName + "-webhook", Namespace: Namespace},
			StringData: map[string]string{"token": demoToken},
		},
		&sourcev1.GitRepository{
			TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
			ObjectMeta: metav1.ObjectMeta{Name: DemoName, Namespace: Namespace},
			Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Minute},
				Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
		},
		&kustomizev1.Kustomization{
			TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
			ObjectMeta: metav1.ObjectMeta{Name: DemoName, Namespace: Namespace},
			Spec: kustomizev1.KustomizationSpec{Path: path, Prune: true, Wait: true,
				Interval:  metav1.Duration{Duration: 10 * time.Minute},
				Timeout:   &metav1.Duration{Duration: 2 * time.Minute},
				SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: DemoName}},
		},
		&notificationv1.Receiver{
			TypeMeta:   metav1.TypeMeta{APIVersion: notificationv1.GroupVersion.String(), Kind: notificationv1.ReceiverKind},
			ObjectMeta: metav1.ObjectMeta{Name: DemoName, Namespace: Namespace},
			Spec: notificationv1.ReceiverSpec{Type: "generic", SecretRef: &meta.LocalObjectReference{Name: DemoName + "-webhook"},
				Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: sourcev1.GitRepositoryKind, Name: DemoName}}},
		},
	}
	for _, obj := range objs {
		if err := c.Patch(ctx, obj, client.Apply, client.FieldOwner("gotk-dev"), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	return nil
}
