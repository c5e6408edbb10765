package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/artifact/sourceignore"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/gitcache"
)

// Reasons this controller adds to Flux's source reasons.
const (
	// reasonNewRevision marks ArtifactOutdated while a new revision is built.
	reasonNewRevision = "NewRevision"
	// reasonNewArtifact is the event reason for a newly stored artifact.
	reasonNewArtifact = "NewArtifact"
)

// gitRun is the state one reconcile passes from step to step.
type gitRun struct {
	r        *GitRepositoryReconciler
	url      *git.URL
	auth     *git.Auth
	res      *git.Resolution
	includes []resolvedInclude
	lease    *gitcache.Lease
	// upToDate means storage already holds the artifact for the remote
	// revision and the current ignore/include/sparse settings.
	upToDate bool
	tmpDirs  []string
	// awsSigner names the credentials provider aws signed with, for
	// messages ("" for other providers).
	awsSigner string
}

func (run *gitRun) cleanup() {
	if run.lease != nil {
		run.lease.Release()
	}
	for _, d := range run.tmpDirs {
		_ = os.RemoveAll(d)
	}
}

// reconcileStorage checks that the artifact in status still exists in
// storage (it is dropped from status otherwise, so it gets rebuilt) and
// refreshes its URL for the current advertised address.
// Sets: nothing; deletes ArtifactInStorage when the file is gone.
func (run *gitRun) reconcileStorage(ctx context.Context, obj *sourcev1.GitRepository) error {
	art := obj.Status.Artifact
	if art == nil {
		conditions.Delete(obj, sourcev1.ArtifactInStorageCondition)
		return nil
	}
	if !run.r.Storage.ArtifactExist(*art) {
		log.FromContext(ctx).Info("artifact missing from storage, rebuilding", "path", art.Path)
		obj.Status.Artifact = nil
		conditions.Delete(obj, sourcev1.ArtifactInStorageCondition)
		return nil
	}
	run.r.Storage.SetArtifactURL(art)
	return nil
}

// reconcileSource resolves the spec's reference against the remote (one
// shared ref listing) and fetches the commit only when storage does not
// already hold an artifact for it with the same ignore/include settings.
// Sets FetchFailed (URLInvalid, AuthenticationFailed, GitOperationFailed)
// and ArtifactOutdated (NewRevision); deletes FetchFailed on success.
func (run *gitRun) reconcileSource(ctx context.Context, obj *sourcev1.GitRepository) error {
	fail := func(err error) error {
		e := reconcile.Classify(err, sourcev1.GitOperationFailedReason)
		conditions.MarkTrue(obj, sourcev1.FetchFailedCondition, e.Reason, "%s", e.Error())
		return err
	}
	u, err := git.ParseURL(obj.Spec.URL)
	if err != nil {
		return fail(reconcile.Stall(sourcev1.URLInvalidReason, "invalid URL: %v", err))
	}
	run.url = u
	ref := specReference(obj)
	if err := ref.Validate(); err != nil {
		return fail(reconcile.Stall(sourcev1.GitOperationFailedReason, "invalid reference: %v", err))
	}
	if err := unsupported(obj); err != nil {
		return fail(err)
	}
	if run.auth, err = run.r.authFor(ctx, obj, u); err != nil {
		return fail(err)
	}
	if obj.Spec.Provider == sourcev1.GitProviderAWS {
		if run.awsSigner, err = run.r.awsAuth(ctx, obj, u, run.auth); err != nil {
			return fail(err)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, obj.GetTimeout())
	defer cancel()
	if obj.Status.Artifact == nil {
		// Nothing stored to compare with: fetch without a separate listing
		// when the cache has not seen this remote.
		if run.lease, run.res, err = run.r.Cache.FirstCheckout(ctx, u, run.auth, ref, run.fetchOptions(obj)); err != nil {
			return fail(run.providerGitError(err))
		}
		conditions.Delete(obj, sourcev1.FetchFailedCondition)
		return nil
	}
	var refs []git.RemoteRef
	if ref.Kind() != "commit" {
		list := run.r.Cache.ListRefs
		if reconcile.RequestPending(obj) {
			list = run.r.Cache.ListRefsFresh
		}
		if refs, err = list(ctx, u, run.auth); err != nil {
			return fail(run.providerGitError(err))
		}
	}
	if run.res, err = git.Resolve(ref, refs); err != nil {
		return fail(run.providerGitError(err))
	}
	if art := obj.Status.Artifact; art != nil && art.Revision == run.res.Revision && contentConfigUnchanged(obj, run.includes) && verifyUpToDate(obj) {
		run.upToDate = true
		conditions.Delete(obj, sourcev1.FetchFailedCondition)
		return nil
	}
	if obj.Status.Artifact != nil && obj.Status.Artifact.Revision != run.res.Revision {
		conditions.MarkTrue(obj, sourcev1.ArtifactOutdatedCondition, reasonNewRevision, "new upstream revision '%s'", run.res.Revision)
	}
	if run.lease, err = run.r.Cache.Checkout(ctx, u, run.auth, run.res, run.fetchOptions(obj)); err != nil {
		return fail(run.providerGitError(err))
	}
	conditions.Delete(obj, sourcev1.FetchFailedCondition)
	return nil
}

// fetchOptions says what the checkout must hold.
func (run *gitRun) fetchOptions(obj *sourcev1.GitRepository) gitcache.Options {
	return gitcache.Options{MaxBytes: run.r.MaxCheckoutBytes, RecurseSubmodules: obj.Spec.RecurseSubmodules, Owner: cacheOwner(obj)}
}

// cacheOwner names obj to the checkout cache.
func cacheOwner(obj *sourcev1.GitRepository) string {
	return obj.Namespace + "/" + obj.Name
}

// specReference converts the spec's ref to the git package's Reference.
func specReference(obj *sourcev1.GitRepository) git.Reference {
	if r := obj.Spec.Reference; r != nil {
		return git.Reference{Branch: r.Branch, Tag: r.Tag, SemVer: r.SemVer, Name: r.Name, Commit: r.Commit}
	}
	return git.Reference{}
}

// unsupported refuses provider settings that cannot work, before any
// credentials are read. (The CRD's enum admits only the providers
// implemented: generic, aws, azure, github.)
func unsupported(obj *sourcev1.GitRepository) error {
	if obj.Spec.Provider == sourcev1.GitProviderGitHub && obj.Spec.SecretRef == nil {
		return reconcile.Stall(sourcev1.InvalidProviderConfigurationReason, "provider github needs a secretRef with the GitHub App's %s, %s and %s",
			cloudauth.GitHubAppIDKey, cloudauth.GitHubAppInstallationIDKey, cloudauth.GitHubAppPrivateKeyKey)
	}
	return nil
}

// gitError classifies errors of the git package for status: credentials
// and host keys → AuthenticationFailed, a too-large checkout → retried at
// the interval, anything else (missing ref, unreachable, timeout) →
// GitOperationFailed with backoff.
func gitError(err error) error {
	var size *git.SizeLimitError
	switch {
	case git.IsAuthError(err):
		return reconcile.Retry(sourcev1.AuthenticationFailedReason, "%v", err)
	case errors.As(err, &size):
		return reconcile.Wait(5*time.Minute, sourcev1.GitOperationFailedReason, "%v", err)
	}
	return reconcile.Retry(sourcev1.GitOperationFailedReason, "%v", err)
}

// authFor reads the credentials of spec.secretRef and spec.proxySecretRef.
func (r *GitRepositoryReconciler) authFor(ctx context.Context, obj *sourcev1.GitRepository, u *git.URL) (*git.Auth, error) {
	auth := &git.Auth{}
	if ref := obj.Spec.SecretRef; ref != nil {
		data, err := r.secretData(ctx, obj.Namespace, ref.Name)
		if err != nil {
			return nil, reconcile.Retry(sourcev1.AuthenticationFailedReason, "%v", err)
		}
		if obj.Spec.Provider == sourcev1.GitProviderGitHub {
			if auth, err = githubAppAuth(ctx, u, data); err != nil {
				return nil, err
			}
		} else if auth, err = git.AuthFromSecret(u, data); err != nil {
			return nil, reconcile.Retry(sourcev1.AuthenticationFailedReason, "invalid secret '%s/%s': %v", obj.Namespace, ref.Name, err)
		}
	} else if u.Transport == git.SSH && obj.Spec.Provider != sourcev1.GitProviderAzure && obj.Spec.Provider != sourcev1.GitProviderAWS {
		return nil, reconcile.Stall(sourcev1.AuthenticationFailedReason, "SSH URLs need a secretRef with 'identity' and 'known_hosts'")
	}
	if obj.Spec.Provider == sourcev1.GitProviderAzure {
		if err := r.azureAuth(ctx, obj, u, auth); err != nil {
			return nil, err
		}
	}
	if ref := obj.Spec.ProxySecretRef; ref != nil {
		data, err := r.secretData(ctx, obj.Namespace, ref.Name)
		if err != nil {
			return nil, reconcile.Retry(sourcev1.AuthenticationFailedReason, "%v", err)
		}
		if err := auth.ProxyFromSecret(data); err != nil {
			return nil, reconcile.Retry(sourcev1.AuthenticationFailedReason, "invalid proxy secret '%s/%s': %v", obj.Namespace, ref.Name, err)
		}
	}
	return auth, nil
}

// githubAppAuth is the auth of provider github; a malformed Secret
// stalls, a refused token exchange is retried.
func githubAppAuth(ctx context.Context, u *git.URL, data map[string][]byte) (*git.Auth, error) {
	auth, err := cloudauth.GitHubAppGitAuth(ctx, u, data)
	if errors.Is(err, cloudauth.ErrGitHubAppConfig) {
		return nil, reconcile.Stall(sourcev1.InvalidProviderConfigurationReason, "provider github: %v", err)
	}
	if err != nil {
		return nil, reconcile.Retry(sourcev1.AuthenticationFailedReason, "provider github: %v", err)
	}
	return auth, nil
}

func (r *GitRepositoryReconciler) secretData(ctx context.Context, ns, name string) (map[string][]byte, error) {
	var s corev1.Secret
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		return nil, fmt.Errorf("failed to get secret '%s/%s': %w", ns, name, err)
	}
	return s.Data, nil
}

// contentConfigUnchanged reports whether the settings that shape the
// artifact (ignore, include and the included artifacts, sparse checkout,
// submodules)
// are the ones the stored artifact was built with.
func contentConfigUnchanged(obj *sourcev1.GitRepository, includes []resolvedInclude) bool {
	s := obj.Status
	if !reflect.DeepEqual(s.ObservedIgnore, obj.Spec.Ignore) || s.ObservedRecurseSubmodules != obj.Spec.RecurseSubmodules ||
		!equalStrings(s.ObservedSparseCheckout, obj.Spec.SparseCheckout) ||
		!reflect.DeepEqual(nilIfEmpty(s.ObservedInclude), nilIfEmpty(obj.Spec.Include)) ||
		len(s.IncludedArtifacts) != len(includes) {
		return false
	}
	for i, inc := range includes {
		got := s.IncludedArtifacts[i]
		if got == nil || got.Revision != inc.artifact.Revision || got.Digest != inc.artifact.Digest {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func nilIfEmpty(in []sourcev1.GitRepositoryInclude) []sourcev1.GitRepositoryInclude {
	if len(in) == 0 {
		return nil
	}
	return in
}

// reconcileArtifact archives the checkout (with includes, minus ignored
// files) into storage, records it in status, announces it and collects
// old artifacts. Sets ArtifactInStorage; BuildFailed and
// StorageOperationFailed on failure; deletes ArtifactOutdated on success.
func (run *gitRun) reconcileArtifact(ctx context.Context, obj *sourcev1.GitRepository) error {
	st := run.r.Storage
	if run.upToDate {
		conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact for revision '%s'", obj.Status.Artifact.Revision)
		return nil
	}
	dir, err := run.buildDir()
	if err != nil {
		conditions.MarkTrue(obj, sourcev1.BuildFailedCondition, reconcile.Classify(err, sourcev1.ArchiveOperationFailedReason).Reason, "%v", err)
		return err
	}
	patterns, err := sourceignore.Load(dir, obj.Spec.Ignore)
	if err != nil {
		conditions.MarkTrue(obj, sourcev1.BuildFailedCondition, sourcev1.ReadOperationFailedReason, "reading ignore files: %v", err)
		return reconcile.Retry(sourcev1.ReadOperationFailedReason, "reading ignore files: %v", err)
	}
	conditions.Delete(obj, sourcev1.BuildFailedCondition)

	commit := run.lease.Commit
	art := st.NewArtifactFor(sourcev1.GitRepositoryKind, obj, commit.Revision, commit.Hash+".tar.gz")
	unlock, err := st.Lock(art)
	if err != nil {
		return run.storageFailed(obj, sourcev1.AcquireLockFailedReason, err)
	}
	defer unlock()
	if err := st.Archive(&art, dir, sourceignore.Filter(dir, patterns, obj.Spec.SparseCheckout)); err != nil {
		return run.storageFailed(obj, sourcev1.ArchiveOperationFailedReason, err)
	}
	run.r.shared.share(st, art)
	previous := obj.Status.Artifact
	obj.Status.Artifact = art.DeepCopy()
	obj.Status.IncludedArtifacts = nil
	for _, inc := range run.includes {
		obj.Status.IncludedArtifacts = append(obj.Status.IncludedArtifacts, inc.artifact.DeepCopy())
	}
	obj.Status.ObservedIgnore = obj.Spec.Ignore
	obj.Status.ObservedInclude = obj.Spec.Include
	obj.Status.ObservedSparseCheckout = obj.Spec.SparseCheckout
	obj.Status.ObservedRecurseSubmodules = obj.Spec.RecurseSubmodules
	conditions.Delete(obj, sourcev1.StorageOperationFailedCondition)
	conditions.Delete(obj, sourcev1.ArtifactOutdatedCondition)
	conditions.MarkTrue(obj, sourcev1.ArtifactInStorageCondition, meta.SucceededReason, "stored artifact for revision '%s'", art.Revision)

	if previous == nil || previous.Revision != art.Revision || previous.Digest != art.Digest {
		run.r.Events.AnnotatedEventf(obj, nil, map[string]string{
			sourcev1.GroupVersion.Group + "/revision": art.Revision,
			sourcev1.GroupVersion.Group + "/digest":   art.Digest,
		}, corev1.EventTypeNormal, reasonNewArtifact, "Reconcile", "stored artifact for commit '%s'", commit.Subject())
	}
	if deleted, err := st.GarbageCollect(ctx, art, 5*time.Second); err != nil {
		log.FromContext(ctx).Error(err, "garbage collecting old artifacts")
	} else if len(deleted) > 0 {
		log.FromContext(ctx).V(1).Info("garbage collected old artifacts", "files", len(deleted))
	}
	return nil
}

func (run *gitRun) storageFailed(obj *sourcev1.GitRepository, reason string, err error) error {
	conditions.MarkTrue(obj, sourcev1.StorageOperationFailedCondition, reason, "%v", err)
	return reconcile.Retry(reason, "%v", err)
}
