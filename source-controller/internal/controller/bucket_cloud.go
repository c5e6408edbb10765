package controller

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/bucket"
)

// identity is spec.serviceAccountName's workload identity (nil when
// unset), behind the ObjectLevelWorkloadIdentity gate.
func (r *BucketReconciler) identity(ctx context.Context, obj *sourcev1.Bucket) (*cloudauth.ServiceAccountIdentity, error) {
	a := cloudauth.ObjectAuth{Provider: obj.Spec.Provider, Namespace: obj.Namespace, ServiceAccountName: obj.Spec.ServiceAccountName,
		WorkloadIdentity: r.WorkloadIdentity, Field: "spec.serviceAccountName"}
	return a.Identity(ctx, r.Client)
}

// gcsClient reads a Google Cloud Storage bucket as the service account
// whose key JSON is secretRef's 'serviceaccount', else with Application
// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the metadata
// server). spec.endpoint other than storage.googleapis.com is the JSON
// API's address; spec.certSecretRef and spec.proxySecretRef carry the
// requests, the key's token exchange included.
func (r *BucketReconciler) gcsClient(ctx context.Context, obj *sourcev1.Bucket) (*bucket.Client, error) {
	spec := obj.Spec
	o := bucket.GCSOptions{Endpoint: spec.Endpoint, Insecure: spec.Insecure, Bucket: spec.BucketName}
	var err error
	if o.TLS, o.Proxy, err = r.cloudTransport(ctx, obj); err != nil {
		return nil, err
	}
	if ref := spec.SecretRef; ref != nil {
		data, err := readSecret(ctx, r.Client, obj.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		var key struct {
			Type        string `json:"type"`
			ClientEmail string `json:"client_email"`
		}
		sa := data["serviceaccount"]
		if len(sa) == 0 || json.Unmarshal(sa, &key) != nil || key.Type != "service_account" {
			return nil, reconcile.Stall(sourcev1.AuthenticationFailedReason,
				"secret '%s' needs a 'serviceaccount' key holding a GCP service account key (JSON, type service_account)", ref.Name)
		}
		o.ServiceAccountJSON = sa
	} else {
		id, err := r.identity(ctx, obj)
		if err != nil {
			return nil, err
		}
		if id != nil {
			return nil, reconcile.Stall(sourcev1.InvalidProviderConfigurationReason,
				"provider gcp: object-level workload identity (ServiceAccount %s) is not supported for GCP yet: use secretRef or the controller's own credentials", id.Name)
		}
	}
	c, err := bucket.NewGCS(ctx, o)
	if err != nil {
		return nil, reconcile.Retry(sourcev1.AuthenticationFailedReason, "provider gcp: %v", err)
	}
	return c, nil
}

// azureClient reads an Azure Blob Storage container with secretRef's
// credentials (accountKey; sasKey; tenantId, clientId and clientSecret or
// clientCertificate; clientId alone for a managed identity; authorityHost
// for Entra), else spec.serviceAccountName's workload identity, else the
// SDK's default chain. spec.certSecretRef and spec.proxySecretRef carry
// the Blob requests (Entra token requests keep their own client).
func (r *BucketReconciler) azureClient(ctx context.Context, obj *sourcev1.Bucket) (*bucket.Client, error) {
	spec := obj.Spec
	o := bucket.AzureOptions{Endpoint: spec.Endpoint, Insecure: spec.Insecure, Container: spec.BucketName}
	var err error
	if o.TLS, o.Proxy, err = r.cloudTransport(ctx, obj); err != nil {
		return nil, err
	}
	if ref := spec.SecretRef; ref != nil {
		data, err := readSecret(ctx, r.Client, obj.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		if err := r.azureSecret(ref.Name, data, &o); err != nil {
			return nil, err
		}
	} else {
		id, err := r.identity(ctx, obj)
		if err != nil {
			return nil, err
		}
		cred, err := cloudauth.AzureCredential(cloudauth.Options{HTTPClient: r.TokenHTTPClient, Identity: id})
		if err != nil {
			return nil, reconcile.Stall(sourcev1.InvalidProviderConfigurationReason, "provider azure: %v", err)
		}
		o.Credential = cred
	}
	c, err := bucket.NewAzure(o)
	if err != nil {
		return nil, reconcile.Stall(sourcev1.URLInvalidReason, "provider azure: %v", err)
	}
	return c, nil
}

// azureSecret sets o's credential from the Secret's keys, as Flux reads
// them; a Secret with none of the combinations stalls naming them.
func (r *BucketReconciler) azureSecret(name string, data map[string][]byte, o *bucket.AzureOptions) error {
	get := func(k string) string { return string(data[k]) }
	co := cloudauth.AzureClientOptions(r.TokenHTTPClient)
	if host := get("authorityHost"); host != "" {
		co.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: host, Services: cloud.AzurePublic.Services}
	}
	invalid := func(format string, args ...any) error {
		return reconcile.Stall(sourcev1.AuthenticationFailedReason, "secret '%s': "+format, append([]any{name}, args...)...)
	}
	tenant, client := get("tenantId"), get("clientId")
	var cred azcore.TokenCredential
	var err error
	switch {
	case get("accountKey") != "":
		o.AccountKey = get("accountKey")
		return nil
	case get("sasKey") != "":
		o.SASToken = get("sasKey")
		return nil
	case tenant != "" && client != "" && get("clientSecret") != "":
		cred, err = azidentity.NewClientSecretCredential(tenant, client, get("clientSecret"),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co})
	case tenant != "" && client != "" && get("clientCertificate") != "":
		certs, key, perr := azidentity.ParseCertificates(data["clientCertificate"], data["clientCertificatePassword"])
		if perr != nil {
			// The parser's ASN.1 detail helps no one reading the condition.
			return invalid("clientCertificate holds no certificate and private key (PEM, or PKCS#12 with clientCertificatePassword)")
		}
		sendChain, _ := strconv.ParseBool(get("clientCertificateSendChain"))
		cred, err = azidentity.NewClientCertificateCredential(tenant, client, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, SendCertificateChain: sendChain})
	case client != "" && tenant == "":
		cred, err = azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
			ClientOptions: co, ID: azidentity.ClientID(client)})
	default:
		return invalid("provider azure needs 'accountKey', 'sasKey', 'tenantId'+'clientId'+'clientSecret', " +
			"'tenantId'+'clientId'+'clientCertificate', or 'clientId' alone (managed identity)")
	}
	if err != nil {
		return invalid("%v", err)
	}
	o.Credential = cred
	return nil
}
