package cloudauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ManagedCluster names a cloud's managed Kubernetes cluster, as the keys
// of a kubeConfig ConfigMap do in Flux.
type ManagedCluster struct {
	// Provider is aws, azure or gcp.
	Provider string
	// Cluster is the cloud's name of the cluster: an EKS cluster ARN, an
	// AKS resource ID or a GKE resource name
	// (projects/<p>/locations/<l>/clusters/<c>). Only aws needs it when
	// Address and CAData are both given.
	Cluster string
	// Address, when set, is the API server address to use; when the
	// cluster is also looked up it must be one of the cluster's.
	Address string
	// CAData, when set, is the PEM CA of the API server.
	CAData []byte
}

// ClusterEndpoint is where a managed cluster's API server is.
type ClusterEndpoint struct {
	// Address is the https URL of the API server.
	Address string
	// CAData is its PEM CA certificate.
	CAData []byte
}

// ClusterToken is a bearer token for a managed cluster's API server.
type ClusterToken struct {
	Token  string
	Expiry time.Time
}

// The scopes, prefixes and lifetimes of the clusters' tokens.
const (
	// AKSScope is the Entra scope of AKS's AAD server application, the
	// audience every AKS API server accepts.
	AKSScope = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
	// ARMScope is the Azure Resource Manager scope, for cluster lookups.
	ARMScope = "https://management.azure.com/.default"
	// EKSTokenPrefix starts an EKS bearer token (a presigned STS
	// GetCallerIdentity URL, base64url).
	EKSTokenPrefix = "k8s-aws-v1."
	// eksClusterHeader binds an EKS token to one cluster.
	eksClusterHeader = "x-k8s-aws-id"
	// eksTokenLifetime: EKS accepts a presigned URL for 15 minutes; one
	// minute less leaves room for clock skew.
	eksTokenLifetime = 14 * time.Minute
	armEndpoint      = "https://management.azure.com"
	armAPIVersion    = "2024-05-01"
	gkeEndpoint      = "https://container.googleapis.com/v1/"
)

// Cluster name patterns of each cloud.
var (
	eksARN  = regexp.MustCompile(`^arn:aws[a-z-]*:eks:([a-z0-9-]+):[0-9]{12}:cluster/([A-Za-z0-9][A-Za-z0-9_-]{0,99})$`)
	aksID   = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ContainerService/managedClusters/[^/]+$`)
	gkeName = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/clusters/[^/]+$`)
)

// Kinds of the errors of the cluster flows: ErrInvalidCluster stalls
// (the cluster name or address cannot be right), ErrClusterLookup is a
// failed cluster lookup (retried); any other error is a failed login.
var (
	ErrInvalidCluster = errors.New("invalid cluster")
	ErrClusterLookup  = errors.New("cluster lookup failed")
)

// IsConfigError reports whether err is a configuration error of this
// package: retrying cannot help until the object or ServiceAccount is
// fixed.
func IsConfigError(err error) bool {
	for _, kind := range []error{ErrUnsupportedProvider, ErrInvalidCluster, errNotProviderRegistry, errIdentityConfig} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}

// Validate checks the cluster name's shape for the provider.
func (m ManagedCluster) Validate() error {
	var pattern *regexp.Regexp
	var want string
	switch m.Provider {
	case ProviderAWS:
		pattern, want = eksARN, "an EKS cluster ARN (arn:aws:eks:<region>:<account>:cluster/<name>)"
	case ProviderAzure:
		pattern, want = aksID, "an AKS resource ID (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>)"
	case ProviderGCP:
		pattern, want = gkeName, "a GKE cluster name (projects/<project>/locations/<location>/clusters/<name>)"
	default:
		return fmt.Errorf("%w %q: use aws, azure or gcp", ErrUnsupportedProvider, m.Provider)
	}
	switch {
	case m.Cluster == "" && (m.Provider == ProviderAWS || m.Address == "" || len(m.CAData) == 0):
		return configError(ErrInvalidCluster, "cluster is required: %s", want)
	case m.Cluster != "" && !pattern.MatchString(m.Cluster):
		return configError(ErrInvalidCluster, "cluster %q is not %s", m.Cluster, want)
	case m.Address != "" && !strings.HasPrefix(m.Address, "https://"):
		return configError(ErrInvalidCluster, "address %q is not an https:// URL", m.Address)
	}
	return nil
}

// Endpoint returns the API server address and CA of the cluster: those
// given, else those the cloud's API describes (EKS DescribeCluster, AKS
// listClusterUserCredential, GKE clusters.get). A given address must be
// one of the cluster's.
func (m ManagedCluster) Endpoint(ctx context.Context, o Options) (*ClusterEndpoint, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if m.Address != "" && len(m.CAData) > 0 {
		return &ClusterEndpoint{Address: m.Address, CAData: m.CAData}, nil
	}
	var addrs []string
	var ca []byte
	var err error
	switch m.Provider {
	case ProviderAWS:
		addrs, ca, err = describeEKS(ctx, m.Cluster, o)
	case ProviderAzure:
		addrs, ca, err = describeAKS(ctx, m.Cluster, o)
	case ProviderGCP:
		addrs, ca, err = describeGKE(ctx, m.Cluster, o)
	}
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: cluster %s has no API server address", ErrClusterLookup, m.Cluster)
	}
	ep := &ClusterEndpoint{Address: addrs[0], CAData: ca}
	if m.Address != "" {
		found := false
		for _, a := range addrs {
			found = found || strings.TrimSuffix(a, "/") == strings.TrimSuffix(m.Address, "/")
		}
		if !found {
			return nil, configError(ErrInvalidCluster, "address %q is not an address of cluster %s (it has %s)", m.Address, m.Cluster, strings.Join(addrs, ", "))
		}
		ep.Address = m.Address
	}
	if len(m.CAData) > 0 {
		ep.CAData = m.CAData
	}
	return ep, nil
}

// Token returns a bearer token for the cluster's API server with the
// credentials of o: a presigned STS GetCallerIdentity bound to the EKS
// cluster's name, an Entra token for AKS's server application, or a GCP
// access token.
// Tokens are cached until shortly before they expire.
func (m ManagedCluster) Token(ctx context.Context, o Options) (*ClusterToken, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	scope := map[string]string{ProviderAWS: m.Cluster, ProviderAzure: AKSScope, ProviderGCP: GCPScope}[m.Provider]
	return cachedToken(TokenKey{Provider: m.Provider, Identity: IdentityKey(o), Scope: scope}, func() (*ClusterToken, time.Time, error) {
		tok, err := m.fetchToken(ctx, o)
		if err != nil {
			return nil, time.Time{}, err
		}
		return tok, tok.Expiry, nil
	})
}

func (m ManagedCluster) fetchToken(ctx context.Context, o Options) (*ClusterToken, error) {
	switch m.Provider {
	case ProviderAWS:
		return eksToken(ctx, m.Cluster, o)
	case ProviderAzure:
		cred, err := AzureCredential(o)
		if err != nil {
			return nil, err
		}
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{AKSScope}})
		if err != nil {
			return nil, fmt.Errorf("Entra token for AKS: %s", concise(err))
		}
		return &ClusterToken{Token: tok.Token, Expiry: tok.ExpiresOn}, nil
	default:
		tok, err := gcpAccessToken(ctx, o)
		if err != nil {
			return nil, err
		}
		return &ClusterToken{Token: tok.AccessToken, Expiry: tok.Expiry}, nil
	}
}

// describeEKS calls DescribeCluster with the cluster's region.
func describeEKS(ctx context.Context, arn string, o Options) ([]string, []byte, error) {
	m := eksARN.FindStringSubmatch(arn)
	cfg, err := AWSConfig(ctx, m[1], o)
	if err != nil {
		return nil, nil, fmt.Errorf("AWS credentials: %w", err)
	}
	out, err := eks.NewFromConfig(cfg).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: &m[2]})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: EKS DescribeCluster %s: %v", ErrClusterLookup, m[2], redact(err))
	}
	c := out.Cluster
	if c == nil || c.Endpoint == nil || c.CertificateAuthority == nil || c.CertificateAuthority.Data == nil {
		return nil, nil, fmt.Errorf("%w: EKS cluster %s has no endpoint or CA yet", ErrClusterLookup, m[2])
	}
	ca, err := base64.StdEncoding.DecodeString(*c.CertificateAuthority.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: EKS cluster %s: CA is not base64", ErrClusterLookup, m[2])
	}
	return []string{*c.Endpoint}, ca, nil
}

// eksToken presigns STS GetCallerIdentity with the cluster's name in a
// signed header, as aws-iam-authenticator and `aws eks get-token` do.
func eksToken(ctx context.Context, arn string, o Options) (*ClusterToken, error) {
	m := eksARN.FindStringSubmatch(arn)
	cfg, err := AWSConfig(ctx, m[1], o)
	if err != nil {
		return nil, fmt.Errorf("AWS credentials: %w", err)
	}
	// Credentials first, so a missing identity is named as such.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("AWS credentials: %v", redact(err))
	}
	now := time.Now()
	req, err := sts.NewPresignClient(sts.NewFromConfig(cfg)).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{},
		func(po *sts.PresignOptions) {
			po.ClientOptions = append(po.ClientOptions, func(so *sts.Options) {
				so.APIOptions = append(so.APIOptions, smithyhttp.AddHeaderValue(eksClusterHeader, m[2]))
			})
		})
	if err != nil {
		return nil, fmt.Errorf("presigning STS GetCallerIdentity: %v", redact(err))
	}
	return &ClusterToken{Token: EKSTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)),
		Expiry: now.Add(eksTokenLifetime)}, nil
}

// describeAKS reads the cluster's user kubeconfig through ARM's
// listClusterUserCredential, for its server addresses and CA (its user,
// an exec plugin, is not used).
func describeAKS(ctx context.Context, id string, o Options) ([]string, []byte, error) {
	cred, err := AzureCredential(o)
	if err != nil {
		return nil, nil, err
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{ARMScope}})
	if err != nil {
		return nil, nil, fmt.Errorf("Entra token for Azure Resource Manager: %s", concise(err))
	}
	u := armEndpoint + id + "/listClusterUserCredential?api-version=" + armAPIVersion
	var out struct {
		Kubeconfigs []struct {
			Value []byte `json:"value"`
		} `json:"kubeconfigs"`
	}
	if err := getJSON(ctx, http.MethodPost, u, tok.Token, o, &out); err != nil {
		return nil, nil, fmt.Errorf("%w: AKS listClusterUserCredential %s: %v", ErrClusterLookup, id, err)
	}
	if len(out.Kubeconfigs) == 0 {
		return nil, nil, fmt.Errorf("%w: AKS cluster %s returned no kubeconfig", ErrClusterLookup, id)
	}
	addrs, ca, err := kubeconfigServers(out.Kubeconfigs[0].Value)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: AKS cluster %s: %v", ErrClusterLookup, id, err)
	}
	return addrs, ca, nil
}

// describeGKE calls the GKE API's projects.locations.clusters.get.
func describeGKE(ctx context.Context, name string, o Options) ([]string, []byte, error) {
	tok, err := gcpAccessToken(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	var out struct {
		Endpoint   string `json:"endpoint"`
		MasterAuth struct {
			ClusterCACertificate string `json:"clusterCaCertificate"`
		} `json:"masterAuth"`
		PrivateClusterConfig struct {
			PrivateEndpoint string `json:"privateEndpoint"`
		} `json:"privateClusterConfig"`
		ControlPlaneEndpointsConfig struct {
			DNSEndpointConfig struct {
				Endpoint string `json:"endpoint"`
			} `json:"dnsEndpointConfig"`
		} `json:"controlPlaneEndpointsConfig"`
	}
	if err := getJSON(ctx, http.MethodGet, gkeEndpoint+name, tok.AccessToken, o, &out); err != nil {
		return nil, nil, fmt.Errorf("%w: GKE clusters.get %s: %v", ErrClusterLookup, name, err)
	}
	ca, err := base64.StdEncoding.DecodeString(out.MasterAuth.ClusterCACertificate)
	if err != nil || len(ca) == 0 {
		return nil, nil, fmt.Errorf("%w: GKE cluster %s has no CA certificate", ErrClusterLookup, name)
	}
	var addrs []string
	for _, e := range []string{out.Endpoint, out.PrivateClusterConfig.PrivateEndpoint, out.ControlPlaneEndpointsConfig.DNSEndpointConfig.Endpoint} {
		if e != "" {
			addrs = append(addrs, "https://"+e)
		}
	}
	return addrs, ca, nil
}
