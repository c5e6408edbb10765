package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/cloudauth"
	"gotk.dev/pkg/runtime/reconcile"
	"gotk.dev/source-controller/internal/bucket"
)

// client builds the bucket client of the Bucket's provider after checking
// spec.sts: an S3 client for generic and aws, Google Cloud Storage for
// gcp, Azure Blob Storage for azure.
func (r *BucketReconciler) client(ctx context.Context, obj *sourcev1.Bucket) (*bucket.Client, error) {
	if err := validateSTS(obj.Spec); err != nil {
		return nil, err
	}
	switch obj.Spec.Provider {
	case "", sourcev1.BucketProviderGeneric, sourcev1.BucketProviderAmazon:
		return r.s3Client(ctx, obj)
	case sourcev1.BucketProviderGoogle:
		return r.gcsClient(ctx, obj)
	case sourcev1.BucketProviderAzure:
		return r.azureClient(ctx, obj)
	}
	return nil, reconcile.Stall(sourcev1.InvalidProviderConfigurationReason,
		"bucket provider %q is unknown: use generic, aws, gcp or azure", obj.Spec.Provider)
}

// validateSTS checks spec.sts as Flux documents it: provider aws goes
// with the aws bucket provider and takes no Secrets; ldap goes with
// generic and needs a secretRef with the LDAP username and password;
// the endpoint is an http(s) URL. (The API server refuses most of these
// at admission; this also guards objects stored before.)
func validateSTS(spec sourcev1.BucketSpec) error {
	sts := spec.STS
	if sts == nil {
		return nil
	}
	stall := func(format string, args ...any) error {
		return reconcile.Stall(sourcev1.InvalidSTSConfigurationReason, format, args...)
	}
	provider := spec.Provider
	if provider == "" {
		provider = sourcev1.BucketProviderGeneric
	}
	switch {
	case provider != sourcev1.BucketProviderAmazon && provider != sourcev1.BucketProviderGeneric:
		return stall("spec.sts is not supported for the '%s' bucket provider (only aws with STS provider aws, generic with ldap)", provider)
	case provider == sourcev1.BucketProviderAmazon && sts.Provider != sourcev1.STSProviderAmazon,
		provider == sourcev1.BucketProviderGeneric && sts.Provider != sourcev1.STSProviderLDAP:
		return stall("STS provider '%s' is not supported for the '%s' bucket provider (use '%s')", sts.Provider, provider,
			map[string]string{sourcev1.BucketProviderAmazon: sourcev1.STSProviderAmazon, sourcev1.BucketProviderGeneric: sourcev1.STSProviderLDAP}[provider])
	case sts.Endpoint == "":
		return stall("spec.sts.endpoint is required")
	}
	if u, err := url.Parse(sts.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return stall("spec.sts.endpoint %q is not an http(s) URL", sts.Endpoint)
	}
	switch {
	case sts.Provider == sourcev1.STSProviderAmazon && sts.SecretRef != nil:
		return stall("spec.sts.secretRef is not required for the 'aws' STS provider")
	case sts.Provider == sourcev1.STSProviderAmazon && sts.CertSecretRef != nil:
		return stall("spec.sts.certSecretRef is not required for the 'aws' STS provider")
	case sts.Provider == sourcev1.STSProviderLDAP && sts.SecretRef == nil:
		return stall("spec.sts.secretRef (with 'username' and 'password') is required for the 'ldap' STS provider")
	}
	return nil
}

// s3Client reads credentials and TLS settings for an S3-compatible
// bucket: with spec.sts ldap, the temporary keys MinIO's STS hands out
// for the LDAP identity; else secretRef's keys; else, with provider aws,
// the AWS SDK's credentials (the controller's, or spec.serviceAccountName's
// web identity), exchanged at spec.sts.endpoint when set.
func (r *BucketReconciler) s3Client(ctx context.Context, obj *sourcev1.Bucket) (*bucket.Client, error) {
	spec := obj.Spec
	o := bucket.Options{Endpoint: spec.Endpoint, Bucket: spec.BucketName, Region: spec.Region, Insecure: spec.Insecure}
	switch {
	case spec.STS != nil && spec.STS.Provider == sourcev1.STSProviderLDAP:
		if err := r.ldapCredentials(ctx, obj, &o); err != nil {
			return nil, err
		}
	case spec.SecretRef != nil:
		data, err := readSecret(ctx, r.Client, obj.Namespace, spec.SecretRef.Name)
		if err != nil {
			return nil, err
		}
		o.AccessKey, o.SecretKey = string(data["accesskey"]), string(data["secretkey"])
		if o.AccessKey == "" || o.SecretKey == "" {
			return nil, reconcile.Stall(sourcev1.AuthenticationFailedReason, "secret '%s' needs both 'accesskey' and 'secretkey'", spec.SecretRef.Name)
		}
	case spec.Provider == sourcev1.BucketProviderAmazon:
		if err := r.awsCredentials(ctx, obj, &o); err != nil {
			return nil, err
		}
	}
	var err error
	if o.TLS, o.Proxy, err = r.bucketTransport(ctx, obj); err != nil {
		return nil, err
	}
	c, err := bucket.New(o)
	if err != nil {
		return nil, reconcile.Stall(sourcev1.URLInvalidReason, "%v", err)
	}
	return c, nil
}

// awsCredentials sets o's keys from the AWS SDK's credentials for the
// Bucket's region: the controller's default chain, or the web identity of
// spec.serviceAccountName behind the ObjectLevelWorkloadIdentity gate;
// with spec.sts the web identity is exchanged at its endpoint.
func (r *BucketReconciler) awsCredentials(ctx context.Context, obj *sourcev1.Bucket, o *bucket.Options) error {
	a := cloudauth.ObjectAuth{Provider: obj.Spec.Provider, Namespace: obj.Namespace, ServiceAccountName: obj.Spec.ServiceAccountName,
		WorkloadIdentity: r.WorkloadIdentity, Field: "spec.serviceAccountName"}
	id, err := a.Identity(ctx, r.Client)
	if err != nil {
		return err
	}
	co := cloudauth.Options{Identity: id}
	var cfg aws.Config
	via := ""
	if sts := obj.Spec.STS; sts != nil {
		cfg, err = cloudauth.AWSConfigWithSTS(ctx, obj.Spec.Region, sts.Endpoint, co)
		via = " from STS " + sts.Endpoint
	} else {
		cfg, err = cloudauth.AWSConfig(ctx, obj.Spec.Region, co)
	}
	if err == nil && cfg.Credentials == nil {
		err = errors.New("no credentials found")
	}
	if err != nil {
		return reconcile.Stall(sourcev1.InvalidProviderConfigurationReason, "provider aws: %v", err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return reconcile.Retry(sourcev1.AuthenticationFailedReason, "provider aws: no AWS credentials%s: %v", via, err)
	}
	o.AccessKey, o.SecretKey, o.SessionToken = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
	return nil
}

// ldapCredentials sets o's keys to the temporary ones MinIO's STS
// (AssumeRoleWithLDAPIdentity at spec.sts.endpoint) hands out for the
// username and password of spec.sts.secretRef, over the TLS settings of
// spec.sts.certSecretRef.
func (r *BucketReconciler) ldapCredentials(ctx context.Context, obj *sourcev1.Bucket, o *bucket.Options) error {
	sts := obj.Spec.STS
	data, err := readSecret(ctx, r.Client, obj.Namespace, sts.SecretRef.Name)
	if err != nil {
		return err
	}
	user, pass := string(data["username"]), string(data["password"])
	if user == "" || pass == "" {
		return reconcile.Stall(sourcev1.InvalidSTSConfigurationReason, "secret '%s' of spec.sts.secretRef needs both 'username' and 'password'", sts.SecretRef.Name)
	}
	var tlsCfg *tls.Config
	if ref := sts.CertSecretRef; ref != nil {
		if tlsCfg, err = tlsFromSecret(ctx, r.Client, obj.Namespace, ref.Name); err != nil {
			return err
		}
	}
	o.AccessKey, o.SecretKey, o.SessionToken, err = bucket.LDAPCredentials(ctx, sts.Endpoint, user, pass, tlsCfg)
	if err != nil {
		return reconcile.Retry(sourcev1.AuthenticationFailedReason, "STS ldap at %s: %v", sts.Endpoint, err)
	}
	return nil
}
