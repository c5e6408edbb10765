package controller

import (
	"context"
	"fmt"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/runtime/reconcile"
)

// awsAuth makes auth send AWS CodeCommit's Git credentials signed from
// IAM credentials (provider aws): the controller's, or
// spec.serviceAccountName's IAM role behind the
// ObjectLevelWorkloadIdentity gate. Credentials of secretRef give way to
// them; its CA bundle stays. It returns what a refusal names (whose
// signature, for which region).
func (r *GitRepositoryReconciler) awsAuth(ctx context.Context, obj *sourcev1.GitRepository, u *git.URL, auth *git.Auth) (string, error) {
	a := cloudauth.ObjectAuth{Provider: cloudauth.ProviderAWS, Namespace: obj.Namespace, ServiceAccountName: obj.Spec.ServiceAccountName,
		WorkloadIdentity: r.WorkloadIdentity, Field: "spec.serviceAccountName"}
	creds, err := a.CodeCommitLogin(ctx, r.Client, u, cloudauth.Options{HTTPClient: r.CloudHTTPClient})
	if err != nil {
		return "", err
	}
	auth.Username, auth.Password, auth.BearerToken = creds.Username, creds.Password, ""
	return fmt.Sprintf("access key %s, region %s", creds.AccessKeyID, creds.Region), nil
}

// providerGitError is gitError with a refusal of provider aws's signed
// credentials saying so.
func (run *gitRun) providerGitError(err error) error {
	if run.awsSigner != "" && git.IsAuthError(err) {
		return reconcile.Retry(sourcev1.AuthenticationFailedReason,
			"provider aws: the Git server refused the CodeCommit credentials signed with %s: %v", run.awsSigner, err)
	}
	return gitError(err)
}
