package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/cli/internal/install"
	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact/securepath"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/version"
)

// Options say where and how to bootstrap.
type Options struct {
	// URL of the repository (https://, http://, ssh://).
	URL string
	// Branch to commit to and sync from.
	Branch string
	// Path of the cluster's folder in the repository, e.g. clusters/dev.
	Path string
	// Namespace of the install.
	Namespace string
	// Auth pushes to the repository; SecretData is what the in-cluster
	// GitRepository gets (never committed).
	Auth       *git.Auth
	SecretData map[string][]byte
	// Author signs the commits.
	Author git.Signature
	// Install selects and customises the components.
	Install install.Options
	// Interval is the GitRepository's; zero means DefaultInterval.
	Interval time.Duration
	// Timeout bounds the wait for the sync.
	Timeout time.Duration
	// Log receives progress lines.
	Log io.Writer

	// PushURL and PushAuth, when set, are where and how bootstrap clones
	// and pushes, while URL and SecretData stay what the cluster syncs
	// with (a hosting service's token over HTTPS for the push, a deploy
	// key over SSH for the cluster).
	PushURL  string
	PushAuth *git.Auth
	// Prepare runs once the repository's content is known to be
	// bootstrap's to write, before anything is pushed or applied (a
	// hosting service registers the deploy key there).
	Prepare func(ctx context.Context) error
	// BeforeInstall, when set, runs just before the components are
	// applied (the takeover of a running Flux).
	BeforeInstall func(ctx context.Context, c client.Client) error
}

// Run commits the manifests (only what differs), pushes, applies the
// components and the sync objects, and waits until the cluster reports the
// pushed revision. It returns that revision.
func Run(ctx context.Context, c client.Client, o Options) (string, error) {
	pushURL, auth := o.URL, o.Auth
	if o.PushURL != "" {
		pushURL, auth = o.PushURL, o.PushAuth
	}
	u, err := git.ParseURL(pushURL)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "gotk-bootstrap-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)

	logf(o, "► cloning branch %q from %s", o.Branch, u.String())
	if _, err := git.Clone(ctx, u, dir, git.CloneOptions{Auth: auth, Ref: git.Reference{Branch: o.Branch}}); err != nil {
		if !git.IsRefNotFound(err) && !git.IsEmptyRemote(err) {
			return "", fmt.Errorf("cloning %s: %w", u.String(), err)
		}
		logf(o, "◎ branch %q does not exist yet: starting it", o.Branch)
		if err := os.RemoveAll(dir); err != nil {
			return "", err
		}
		if err := git.InitEmpty(dir, u, o.Branch); err != nil {
			return "", err
		}
	}

	files, err := Files(o.Install, o.Namespace, o.URL, o.Branch, o.Path, o.Interval)
	if err != nil {
		return "", err
	}
	if err := checkOwnFolder(dir, o.Path, files); err != nil {
		return "", err
	}
	// --path and the cloned repository are untrusted: write through an
	// os.Root on the clone, so a symlink in the repository cannot send the
	// manifests elsewhere.
	if err := writeComponents(dir, o.Path, files); err != nil {
		return "", err
	}
	sha, err := git.CommitAll(dir, o.Branch, o.Author, fmt.Sprintf("Add gotk %s component and sync manifests", version.Version))
	if err != nil {
		return "", err
	}
	if o.Prepare != nil {
		if err := o.Prepare(ctx); err != nil {
			return "", err
		}
	}
	if sha == "" {
		logf(o, "✔ manifests in the repository are up to date")
		if sha, err = headCommit(dir); err != nil {
			return "", err
		}
	} else {
		ref := "refs/heads/" + o.Branch
		if err := git.Push(ctx, dir, u, git.PushOptions{Auth: auth, RefSpecs: []string{ref + ":" + ref}}); err != nil {
			return "", fmt.Errorf("pushing to %s: %w", u.String(), err)
		}
		logf(o, "✔ committed and pushed %s", sha)
	}

	revision := o.Branch + "@sha1:" + sha
	if err := applyCluster(ctx, c, o, revision); err != nil {
		return "", err
	}
	logf(o, "◎ waiting for the cluster to sync %s", revision)
	if err := waitSynced(ctx, c, o, revision); err != nil {
		return "", err
	}
	logf(o, "✔ bootstrap finished: the cluster syncs %s from %s", o.Path, o.URL)
	return revision, nil
}

// applyCluster installs the components, the credentials Secret and the
// sync objects; when the cluster moves from another repository, branch or
// path, the Kustomization stays suspended until the GitRepository has
// fetched revision.
func applyCluster(ctx context.Context, c client.Client, o Options, revision string) error {
	objs, err := install.Objects(o.Install)
	if err != nil {
		return err
	}
	if o.BeforeInstall != nil {
		if err := o.BeforeInstall(ctx, c); err != nil {
			return err
		}
	}
	logf(o, "► applying %d component objects", len(objs))
	if err := install.Apply(ctx, c, objs); err != nil {
		return err
	}
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: o.Namespace},
		Data:       o.SecretData,
	}
	repo, ks := SyncObjects(o.Namespace, o.URL, o.Branch, o.Path, o.Interval)
	moving, err := isMove(ctx, c, repo, ks)
	if err != nil {
		return err
	}
	if moving {
		if err := move(ctx, c, o, secret, repo, ks, revision); err != nil {
			return err
		}
	}
	for _, obj := range []client.Object{secret, repo, ks} {
		if err := applyObject(ctx, c, obj); err != nil {
			return err
		}
	}
	logf(o, "✔ credentials and sync objects applied")
	return nil
}

// waitSynced waits until the GitRepository has the revision and the
// Kustomization applied it, printing what blocks it on timeout.
func waitSynced(ctx context.Context, c client.Client, o Options, revision string) error {
	key := client.ObjectKey{Namespace: o.Namespace, Name: Name}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, o.Timeout, true, func(ctx context.Context) (bool, error) {
		repo := &sourcev1.GitRepository{}
		if err := c.Get(ctx, key, repo); err != nil {
			return false, keepWaiting(ctx, err, &last)
		}
		if repo.Status.Artifact == nil || repo.Status.Artifact.Revision != revision {
			last = "GitRepository: " + conditions.GetMessage(repo, meta.ReadyCondition)
			return false, nil
		}
		ks := &kustomizev1.Kustomization{}
		if err := c.Get(ctx, key, ks); err != nil {
			return false, keepWaiting(ctx, err, &last)
		}
		if ks.Status.LastAppliedRevision != revision || !conditions.IsReady(ks) {
			last = "Kustomization: " + conditions.GetMessage(ks, meta.ReadyCondition)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		if last == "" {
			last = "no status yet: are the controllers running?"
		}
		return fmt.Errorf("the cluster did not sync %s within %s: %s", revision, o.Timeout, last)
	}
	return nil
}

// keepWaiting records a failed read as the last state seen and goes on
// polling, unless the wait itself is over: then the state seen before
// stays the one reported.
func keepWaiting(ctx context.Context, err error, last *string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	*last = err.Error()
	return nil
}

func headCommit(dir string) (string, error) {
	sha, err := git.HeadCommit(dir)
	if err != nil {
		return "", errors.New("reading the checked-out commit: " + err.Error())
	}
	return sha, nil
}

func logf(o Options, format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// writeComponents writes files into path/Name under the clone dir.
func writeComponents(dir, path string, files map[string][]byte) error {
	target, err := securepath.Clean(filepath.ToSlash(filepath.Join(path, Name)))
	if err != nil {
		return fmt.Errorf("--path %q: %w", path, err)
	}
	root, err := securepath.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("--path %q: %w", path, err)
	}
	for name, data := range files {
		if err := root.WriteFile(target+"/"+name, data, 0o644); err != nil {
			return fmt.Errorf("--path %q: %w", path, err)
		}
	}
	return nil
}
