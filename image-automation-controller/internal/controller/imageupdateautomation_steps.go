package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"gotk.dev/image-automation-controller/internal/setters"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/runtime/reconcile"
)

// DefaultMaxPushAttempts bounds how often an automation re-applies its
// changes on a moved branch before giving up until the next run.
const DefaultMaxPushAttempts = 3

// SigningKeyInvalidReason means the signing key Secret is missing or unusable.
const SigningKeyInvalidReason = "InvalidSigningKey"

// automationRun is the state shared by the steps of one reconcile.
type automationRun struct {
	r        *ImageUpdateAutomationReconciler
	selector labels.Selector
	tmpl     *template.Template

	url        *git.URL
	auth       *git.Auth
	checkout   git.Reference
	pushBranch string
	refspecs   []string
	timeout    time.Duration
	policies   setters.Policies

	// commitOpts sign the commit when spec.git.commit.signingKey is set.
	commitOpts []git.CommitOption

	readyReason, readyMessage string
}

// validate checks what needs no network: strategy, source kind, git
// settings (push options included), policy selector and message template. Each problem stalls
// with its own reason.
func (run *automationRun) validate(_ context.Context, obj *imagev1.ImageUpdateAutomation) error {
	if s := obj.GetUpdateStrategy(); s.Strategy != imagev1.UpdateStrategySetters {
		return reconcile.Stall(imagev1.InvalidUpdateStrategyReason, "update strategy %q is not supported; use %q", s.Strategy, imagev1.UpdateStrategySetters)
	}
	if k := obj.Spec.SourceRef.Kind; k != imagev1.GitRepositoryKind {
		return reconcile.Stall(imagev1.InvalidSourceConfigReason, "sourceRef.kind %q is not supported; use %q", k, imagev1.GitRepositoryKind)
	}
	if obj.Spec.GitSpec == nil {
		return reconcile.Stall(imagev1.InvalidSourceConfigReason, "spec.git is required")
	}
	if p := obj.Spec.GitSpec.Push; p != nil {
		if err := validPushOptions(p.Options); err != nil {
			return reconcile.Stall(imagev1.InvalidSourceConfigReason, "spec.git.push.options: %s", err)
		}
	}
	sel := labels.Everything()
	if ps := obj.Spec.PolicySelector; ps != nil {
		s, err := metav1.LabelSelectorAsSelector(ps)
		if err != nil {
			return reconcile.Stall(imagev1.InvalidPolicySelectorReason, "invalid policySelector: %s", err)
		}
		sel = s
	}
	run.selector = sel
	tmpl, err := parseMessageTemplate(obj)
	if err != nil {
		return err
	}
	run.tmpl = tmpl
	return nil
}

// validPushOptions refuses push options the Git protocol cannot carry:
// each is one pkt-line "key=value", so an empty key, a newline or a NUL
// would change what the server reads.
func validPushOptions(opts map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		switch {
		case k == "":
			return fmt.Errorf("an option has an empty key")
		case strings.ContainsAny(k, "\n\x00="):
			return fmt.Errorf("key %q holds a newline, NUL or '='", k)
		case strings.ContainsAny(opts[k], "\n\x00"):
			return fmt.Errorf("the value of %q holds a newline or NUL", k)
		}
	}
	return nil
}

// source reads the GitRepository: URL, credentials (secretRef,
// proxySecretRef), the reference to check out and the branch to push.
// A missing GitRepository waits; unusable settings stall with
// InvalidSourceConfiguration; unreadable secrets retry with
// AuthenticationFailed.
func (run *automationRun) source(ctx context.Context, obj *imagev1.ImageUpdateAutomation) error {
	key := types.NamespacedName{Namespace: obj.Spec.SourceRef.Namespace, Name: obj.Spec.SourceRef.Name}
	if key.Namespace == "" {
		key.Namespace = obj.Namespace
	}
	// Checked before anything is read: the source's namespace holds the
	// Git credentials the push would use.
	if err := reconcile.CrossNamespaceRef(run.r.NoCrossNamespaceRefs, obj.Namespace, "spec.sourceRef",
		sourcev1.GitRepositoryKind, key.Namespace, key.Name); err != nil {
		return err
	}
	var repo sourcev1.GitRepository
	if err := run.r.Client.Get(ctx, key, &repo); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Wait(dependencyRetry, imagev1.DependencyNotReadyReason, "%s", run.r.Shard.NotFound(fmt.Sprintf("GitRepository %s", key)))
		}
		return reconcile.Retry(imagev1.SourceManagerFailedReason, "getting GitRepository %s: %s", key, err)
	}
	switch p := repo.Spec.Provider; p {
	case "", sourcev1.GitProviderGeneric:
	case sourcev1.GitProviderAzure, sourcev1.GitProviderAWS:
	case sourcev1.GitProviderGitHub:
		if repo.Spec.SecretRef == nil {
			return reconcile.Stall(imagev1.InvalidSourceConfigReason, "GitRepository %s uses provider github without a secretRef naming the GitHub App", key)
		}
	default:
		return reconcile.Stall(imagev1.InvalidSourceConfigReason, "GitRepository %s uses provider %q, which is not supported yet", key, p)
	}
	u, err := git.ParseURL(repo.Spec.URL)
	if err != nil {
		return reconcile.Stall(imagev1.InvalidSourceConfigReason, "GitRepository %s: %s", key, err)
	}
	run.url = u
	run.auth = &git.Auth{}
	if ref := repo.Spec.SecretRef; ref != nil {
		s, err := getSecret(ctx, run.r.Client, key.Namespace, ref.Name)
		if err != nil {
			return reconcile.Retry(imagev1.AuthenticationFailedReason, "%s", err)
		}
		if repo.Spec.Provider == sourcev1.GitProviderGitHub {
			// A fresh installation token for this clone and push.
			run.auth, err = cloudauth.GitHubAppGitAuth(ctx, u, s.Data)
			if errors.Is(err, cloudauth.ErrGitHubAppConfig) {
				return reconcile.Stall(imagev1.InvalidSourceConfigReason, "GitRepository %s: %s", key, err)
			}
			if err != nil {
				return reconcile.Retry(imagev1.AuthenticationFailedReason, "GitRepository %s: provider github: %s", key, err)
			}
		} else if run.auth, err = git.AuthFromSecret(u, s.Data); err != nil {
			return reconcile.Retry(imagev1.AuthenticationFailedReason, "secret %s/%s: %s", key.Namespace, ref.Name, err)
		}
	}
	if repo.Spec.Provider == sourcev1.GitProviderAzure {
		// An Entra token for Azure DevOps as the bearer token, as the
		// GitRepository's own fetch uses.
		a := cloudauth.ObjectAuth{Provider: cloudauth.ProviderAzure, Namespace: key.Namespace, ServiceAccountName: repo.Spec.ServiceAccountName,
			WorkloadIdentity: run.r.WorkloadIdentity, Field: "spec.serviceAccountName of GitRepository " + key.String()}
		tok, err := a.AzureDevOpsLogin(ctx, run.r.Client, cloudauth.Options{HTTPClient: run.r.CloudHTTPClient})
		if err != nil {
			return err
		}
		run.auth.Username, run.auth.Password, run.auth.BearerToken = "", "", tok
	}
	if repo.Spec.Provider == sourcev1.GitProviderAWS {
		// CodeCommit Git credentials signed from IAM credentials, as the
		// GitRepository's own fetch uses.
		a := cloudauth.ObjectAuth{Provider: cloudauth.ProviderAWS, Namespace: key.Namespace, ServiceAccountName: repo.Spec.ServiceAccountName,
			WorkloadIdentity: run.r.WorkloadIdentity, Field: "spec.serviceAccountName of GitRepository " + key.String()}
		creds, err := a.CodeCommitLogin(ctx, run.r.Client, u, cloudauth.Options{HTTPClient: run.r.CloudHTTPClient})
		if err != nil {
			return err
		}
		run.auth.Username, run.auth.Password, run.auth.BearerToken = creds.Username, creds.Password, ""
	}
	if ref := repo.Spec.ProxySecretRef; ref != nil {
		s, err := getSecret(ctx, run.r.Client, key.Namespace, ref.Name)
		if err != nil {
			return reconcile.Retry(imagev1.AuthenticationFailedReason, "%s", err)
		}
		if err := run.auth.ProxyFromSecret(s.Data); err != nil {
			return reconcile.Retry(imagev1.AuthenticationFailedReason, "secret %s/%s: %s", key.Namespace, ref.Name, err)
		}
	}
	run.timeout = repo.GetTimeout()
	if err := run.signingKey(ctx, obj); err != nil {
		return err
	}

	gs := obj.Spec.GitSpec
	switch {
	case gs.Checkout != nil:
		r := gs.Checkout.Reference
		run.checkout = git.Reference{Branch: r.Branch, Tag: r.Tag, SemVer: r.SemVer, Name: r.Name, Commit: r.Commit}
	case repo.Spec.Reference != nil:
		r := repo.Spec.Reference
		run.checkout = git.Reference{Branch: r.Branch, Tag: r.Tag, SemVer: r.SemVer, Name: r.Name, Commit: r.Commit}
	}
	if err := run.checkout.Validate(); err != nil {
		return reconcile.Stall(imagev1.InvalidSourceConfigReason, "checkout reference: %s", err)
	}
	if gs.Push != nil {
		run.pushBranch = gs.Push.Branch
		if gs.Push.Refspec != "" {
			run.refspecs = append(run.refspecs, gs.Push.Refspec)
		}
	}
	if run.pushBranch == "" && run.checkout.Kind() == "branch" {
		run.pushBranch = run.checkout.Branch
		if run.pushBranch == "" {
			run.pushBranch = git.DefaultBranch
		}
	}
	if run.pushBranch == "" {
		return reconcile.Stall(imagev1.InvalidSourceConfigReason,
			"spec.git.push.branch is required when checking out a %s", run.checkout.Kind())
	}
	return nil
}

// collectPolicies collects the chosen images of the ImagePolicies in the
// automation's namespace that match policySelector.
func (run *automationRun) collectPolicies(ctx context.Context, obj *imagev1.ImageUpdateAutomation) error {
	var list imagev1.ImagePolicyList
	policies := run.r.AllShards
	if policies == nil {
		policies = run.r.Client
	}
	if err := policies.List(ctx, &list, client.InNamespace(obj.Namespace), client.MatchingLabelsSelector{Selector: run.selector}); err != nil {
		return reconcile.Retry(imagev1.DependencyNotReadyReason, "listing ImagePolicies: %s", err)
	}
	run.policies = setters.Policies{}
	observed := imagev1.ObservedPolicies{}
	for _, p := range list.Items {
		if p.Status.LatestRef == nil {
			continue
		}
		run.policies[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}] = *p.Status.LatestRef
		observed[p.Name] = *p.Status.LatestRef
	}
	obj.Status.ObservedPolicies = observed
	return nil
}

// update clones, rewrites the markers under spec.update.path, and when
// anything changed commits and pushes. When the push is refused because
// the branch moved, it starts again from the new head (go-git has no
// rebase), at most MaxPushAttempts times. Malformed markers or YAML fail
// with UpdateFailed and push nothing; Git failures with
// GitOperationFailed (AuthenticationFailed for refused credentials).
func (run *automationRun) update(ctx context.Context, obj *imagev1.ImageUpdateAutomation) error {
	now := metav1.Now()
	obj.Status.LastAutomationRunTime = &now
	attempts := run.r.MaxPushAttempts
	if attempts <= 0 {
		attempts = DefaultMaxPushAttempts
	}
	var lastErr error
	for attempt := 1; attempt <= attempts; attempt++ {
		done, err := run.attempt(ctx, obj, attempt)
		if done {
			return err
		}
		lastErr = err
	}
	return reconcile.Retry(imagev1.GitOperationFailedReason, "branch '%s' kept moving: gave up after %d push attempts: %s", run.pushBranch, attempts, lastErr)
}

// attempt runs one clone-update-commit-push round. It returns done=false
// only when the push was refused as not fast-forward.
func (run *automationRun) attempt(ctx context.Context, obj *imagev1.ImageUpdateAutomation, attempt int) (bool, error) {
	actx, cancel := context.WithTimeout(ctx, run.timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "image-update-")
	if err != nil {
		return true, reconcile.Retry(imagev1.GitOperationFailedReason, "creating a checkout directory: %s", err)
	}
	defer os.RemoveAll(dir)

	refs, err := git.ListRefs(actx, run.url, run.auth)
	if err != nil {
		return true, gitError(err)
	}
	// Work on the push branch when it exists and differs from the
	// checkout: earlier automation commits live there.
	ref := run.checkout
	pushRef := "refs/heads/" + run.pushBranch
	if ref.Kind() != "branch" || ref.Branch != run.pushBranch {
		for _, r := range refs {
			if r.Name == pushRef {
				ref = git.Reference{Branch: run.pushBranch}
				break
			}
		}
	}
	res, err := git.Resolve(ref, refs)
	if err != nil {
		return true, gitError(err)
	}
	head, err := git.Clone(actx, run.url, dir, git.CloneOptions{Auth: run.auth, Ref: ref, Resolution: res})
	if err != nil {
		return true, gitError(err)
	}
	obj.Status.ObservedSourceRevision = head.Revision

	path := obj.GetUpdateStrategy().Path
	result, err := setters.UpdateDir(dir, path, run.policies)
	if err != nil {
		return true, reconcile.Wait(obj.Spec.Interval.Duration, imagev1.UpdateFailedReason, "%s", err)
	}
	if len(result.Changes) == 0 {
		run.readyReason = meta.SucceededReason
		run.readyMessage = "repository up-to-date"
		return true, nil
	}
	msg, err := renderMessage(run.tmpl, obj, result)
	if err != nil {
		return true, err
	}
	author := obj.Spec.GitSpec.Commit.Author
	hash, err := git.CommitAll(dir, run.pushBranch, git.Signature{Name: author.Name, Email: author.Email}, msg, run.commitOpts...)
	if err != nil {
		return true, reconcile.Retry(imagev1.GitOperationFailedReason, "%s", err)
	}
	if run.r.beforePush != nil {
		run.r.beforePush(attempt)
	}
	specs := append([]string{pushRef + ":" + pushRef}, run.refspecs...)
	var opts map[string]string
	if p := obj.Spec.GitSpec.Push; p != nil {
		opts = p.Options
	}
	// go-git drops push options a server does not advertise support for
	// without a word; ask first so the drop is reported. A failed probe
	// leaves the push to report the remote's error.
	dropped := false
	if len(opts) > 0 {
		ok, err := git.ReceivesPushOptions(actx, run.url, run.auth)
		dropped = err == nil && !ok
	}
	if err := git.Push(actx, dir, run.url, git.PushOptions{Auth: run.auth, RefSpecs: specs, Options: opts}); err != nil {
		if isNotFastForward(err) {
			return false, err
		}
		return true, gitError(err)
	}
	pushed := metav1.Now()
	obj.Status.LastPushCommit = hash
	obj.Status.LastPushTime = &pushed
	run.readyReason = meta.SucceededReason
	run.readyMessage = describeCommit(hash, run.pushBranch)
	if run.r.Events != nil {
		run.r.Events.AnnotatedEventf(obj, nil, map[string]string{RevisionAnnotation: run.pushBranch + "@sha1:" + hash},
			corev1.EventTypeNormal, meta.SucceededReason, "Push", "%s", run.readyMessage+"\n"+msg)
	}
	if dropped {
		note := pushOptionsDroppedNote(opts)
		run.readyMessage += "; " + note
		if run.r.Events != nil {
			run.r.Events.Eventf(obj, nil, corev1.EventTypeWarning, PushOptionsUnsupportedReason, "Push", "%s", note)
		}
	}
	return true, nil
}

// PushOptionsUnsupportedReason is the Warning event's reason when
// spec.git.push.options were not sent because the Git server does not
// accept push options.
const PushOptionsUnsupportedReason = "PushOptionsUnsupported"

// pushOptionsDroppedNote says which push options were not sent.
func pushOptionsDroppedNote(opts map[string]string) string {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Sprintf("push options %s were not sent: the Git server does not advertise push-options (receive.advertisePushOptions)", strings.Join(keys, ", "))
}

// isNotFastForward reports a push refused because the remote branch has
// commits the clone lacks, whether go-git noticed before sending (it
// cannot find the remote's new head in the shallow clone, or finds it is
// no ancestor) or the server refused.
func isNotFastForward(err error) bool {
	if errors.Is(err, gogit.ErrForceNeeded) || errors.Is(err, plumbing.ErrObjectNotFound) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "non-fast-forward") || strings.Contains(msg, "fetch first")
}

func gitError(err error) error {
	switch {
	case git.IsAuthError(err):
		return reconcile.Retry(imagev1.AuthenticationFailedReason, "%s", err)
	case git.IsRefNotFound(err):
		return reconcile.Retry(imagev1.SourceManagerFailedReason, "%s", err)
	}
	return reconcile.Retry(imagev1.GitOperationFailedReason, "%s", fmt.Sprint(err))
}

// signingKey reads the key that signs the automation's commits, when
// spec.git.commit.signingKey is set: an OpenPGP key (`git.asc`, optional
// `passphrase`) or, for type ssh, an SSH private key (`identity`,
// optional `password`), as git signs with gpg.format=ssh.
func (run *automationRun) signingKey(ctx context.Context, obj *imagev1.ImageUpdateAutomation) error {
	k := obj.Spec.GitSpec.Commit.SigningKey
	if k == nil {
		return nil
	}
	s, err := getSecret(ctx, run.r.Client, obj.Namespace, k.SecretRef.Name)
	if err != nil {
		return reconcile.Retry(SigningKeyInvalidReason, "%s", err)
	}
	if k.GetType() == imagev1.SigningKeyTypeSSH {
		if len(s.Data["identity"]) == 0 {
			return reconcile.Stall(SigningKeyInvalidReason, "secret %s/%s has no `identity` key (the SSH private key)", obj.Namespace, k.SecretRef.Name)
		}
		signer, err := git.ParseSSHSigningKey(s.Data["identity"], s.Data["password"])
		if err != nil {
			return reconcile.Stall(SigningKeyInvalidReason, "secret %s/%s: %s", obj.Namespace, k.SecretRef.Name, err)
		}
		run.commitOpts = []git.CommitOption{git.WithSigner(signer)}
		return nil
	}
	key, err := git.ParseSigningKey(s.Data["git.asc"], s.Data["passphrase"])
	if err != nil {
		return reconcile.Stall(SigningKeyInvalidReason, "secret %s/%s: %s", obj.Namespace, k.SecretRef.Name, err)
	}
	run.commitOpts = []git.CommitOption{git.WithSigningKey(key)}
	return nil
}
