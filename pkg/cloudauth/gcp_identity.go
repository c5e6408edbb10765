package cloudauth

import (
	"context"
	"fmt"
	"regexp"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/google/externalaccount"
)

// The ServiceAccount annotations of GCP workload identity, as in GKE and
// Flux: the Google service account to impersonate, and (outside GKE) the
// workload identity federation provider that trusts this cluster's
// ServiceAccount tokens.
const (
	AnnotationGCPServiceAccount           = "iam.gke.io/gcp-service-account"
	AnnotationGCPWorkloadIdentityProvider = "gcp.auth.fluxcd.io/workload-identity-provider"
)

const (
	gcpSTSURL           = "https://sts.googleapis.com/v1/token"
	gcpImpersonationURL = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/%s:generateAccessToken"
	gcpJWTTokenType     = "urn:ietf:params:oauth:token-type:jwt"
)

var gcpWIFProvider = regexp.MustCompile(`^//iam\.googleapis\.com/projects/[0-9]+/locations/global/workloadIdentityPools/[^/]+/providers/[^/]+$`)

// gcpAccessToken is a GCP access token with o's credentials: the
// environment's (metadata server, application default credentials), or
// o.Identity's workload identity.
func gcpAccessToken(ctx context.Context, o Options) (*oauth2.Token, error) {
	if o.Identity != nil {
		return gcpIdentityToken(ctx, o)
	}
	creds, err := google.FindDefaultCredentials(oauthContext(ctx, o), GCPScope)
	if err != nil {
		return nil, fmt.Errorf("GCP credentials: %w", err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		return nil, fmt.Errorf("GCP access token: %w", err)
	}
	return tok, nil
}

// gcpIdentityToken exchanges a token of the ServiceAccount at Google's
// STS (workload identity federation) and, when the ServiceAccount names
// a Google service account, impersonates it. The audience is the
// federation provider the ServiceAccount names, else this GKE cluster's
// workload identity pool (read from the metadata server).
func gcpIdentityToken(ctx context.Context, o Options) (*oauth2.Token, error) {
	id := o.Identity
	audience, tokenAudience := id.Annotations[AnnotationGCPWorkloadIdentityProvider], ""
	if audience != "" {
		if !gcpWIFProvider.MatchString(audience) {
			return nil, configError(errIdentityConfig, "ServiceAccount %s: %s %q is not //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>",
				id.Name, AnnotationGCPWorkloadIdentityProvider, audience)
		}
		tokenAudience = "https:" + audience
	} else {
		pool, clusterURL, err := gkeWorkloadPool(ctx)
		if err != nil {
			return nil, configError(errIdentityConfig, "ServiceAccount %s has no %s annotation and the GKE metadata server does not name the cluster: %v",
				id.Name, AnnotationGCPWorkloadIdentityProvider, err)
		}
		audience, tokenAudience = "identitynamespace:"+pool+":"+clusterURL, pool
	}
	cfg := externalaccount.Config{
		Audience:             audience,
		SubjectTokenType:     gcpJWTTokenType,
		TokenURL:             gcpSTSURL,
		Scopes:               []string{GCPScope},
		UniverseDomain:       "googleapis.com",
		SubjectTokenSupplier: saTokenSupplier{id: id, audience: tokenAudience},
	}
	if email := id.Annotations[AnnotationGCPServiceAccount]; email != "" {
		cfg.ServiceAccountImpersonationURL = fmt.Sprintf(gcpImpersonationURL, email)
	}
	ctx = oauthContext(ctx, o)
	ts, err := externalaccount.NewTokenSource(ctx, cfg)
	if err != nil {
		return nil, configError(errIdentityConfig, "GCP workload identity of ServiceAccount %s: %v", id.Name, err)
	}
	tok, err := ts.Token()
	if err != nil {
		return nil, fmt.Errorf("GCP workload identity of ServiceAccount %s: %v", id.Name, redact(err))
	}
	return tok, nil
}

// gkeWorkloadPool reads the project's workload pool and the cluster's
// URL from the GKE metadata server.
func gkeWorkloadPool(ctx context.Context) (pool, clusterURL string, err error) {
	// The metadata server is link-local: never through o.HTTPClient.
	md := metadata.NewClient(nil)
	project, err := md.ProjectIDWithContext(ctx)
	if err != nil {
		return "", "", err
	}
	location, err := md.InstanceAttributeValueWithContext(ctx, "cluster-location")
	if err != nil {
		return "", "", err
	}
	name, err := md.InstanceAttributeValueWithContext(ctx, "cluster-name")
	if err != nil {
		return "", "", err
	}
	return project + ".svc.id.goog", fmt.Sprintf("https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s", project, location, name), nil
}

// saTokenSupplier mints the ServiceAccount's token for the federation.
type saTokenSupplier struct {
	id       *ServiceAccountIdentity
	audience string
}

func (s saTokenSupplier) SubjectToken(ctx context.Context, _ externalaccount.SupplierOptions) (string, error) {
	return s.id.Token(ctx, s.audience)
}
