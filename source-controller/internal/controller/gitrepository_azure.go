package controller

import (
	"context"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/git"
	"gotk.dev/pkg/runtime/reconcile"
)

// azureAuth makes auth send an Entra token for Azure DevOps as the Git
// bearer token (provider azure), with the controller's credentials or
// spec.serviceAccountName's workload identity behind the
// ObjectLevelWorkloadIdentity gate. Credentials of secretRef give way to
// it; its CA bundle stays.
func (r *GitRepositoryReconciler) azureAuth(ctx context.Context, obj *sourcev1.GitRepository, u *git.URL, auth *git.Auth) error {
	if u.Transport == git.SSH {
		return reconcile.Stall(sourcev1.InvalidProviderConfigurationReason, "provider azure authenticates over HTTPS only; use an https:// URL")
	}
	a := cloudauth.ObjectAuth{Provider: cloudauth.ProviderAzure, Namespace: obj.Namespace, ServiceAccountName: obj.Spec.ServiceAccountName,
		WorkloadIdentity: r.WorkloadIdentity, Field: "spec.serviceAccountName"}
	tok, err := a.AzureDevOpsLogin(ctx, r.Client, cloudauth.Options{HTTPClient: r.CloudHTTPClient})
	if err != nil {
		return err
	}
	auth.Username, auth.Password, auth.BearerToken = "", "", tok
	return nil
}
