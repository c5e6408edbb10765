package cloudauth

import (
	"context"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The ServiceAccount annotations that name a cloud identity, as in Flux
// (and EKS and Azure workload identity), and the token audiences of each
// cloud's token service.
const (
	AnnotationAWSRoleARN    = "eks.amazonaws.com/role-arn"
	AnnotationAzureClientID = "azure.workload.identity/client-id"
	AnnotationAzureTenantID = "azure.workload.identity/tenant-id"
	AudienceAWS             = "sts.amazonaws.com"
	AudienceAzure           = "api://AzureADTokenExchange"
)

// Provider names of the `provider` fields.
const (
	ProviderAWS   = "aws"
	ProviderAzure = "azure"
	ProviderGCP   = "gcp"
)

// ServiceAccountIdentity is a Kubernetes ServiceAccount used as a cloud
// identity (object-level workload identity): its annotations name the
// cloud identity, and a token of it is exchanged at the cloud's token
// service.
type ServiceAccountIdentity struct {
	// Name is namespace/name, for messages.
	Name string
	// Annotations of the ServiceAccount.
	Annotations map[string]string
	// Token mints a token of the ServiceAccount for an audience.
	Token func(ctx context.Context, audience string) (string, error)
}

// ForServiceAccount is the identity of sa whose tokens c mints through
// the TokenRequest API: short-lived (10 minutes) and bound to the cloud's
// audience.
func ForServiceAccount(c client.Client, sa *corev1.ServiceAccount) *ServiceAccountIdentity {
	key := client.ObjectKeyFromObject(sa)
	return &ServiceAccountIdentity{
		Name:        key.String(),
		Annotations: sa.Annotations,
		Token: func(ctx context.Context, audience string) (string, error) {
			req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
				Audiences: []string{audience}, ExpirationSeconds: ptr.To[int64](600)}}
			if err := c.SubResource("token").Create(ctx, sa.DeepCopy(), req); err != nil {
				return "", fmt.Errorf("token of ServiceAccount %s: %w", key, err)
			}
			return req.Status.Token, nil
		},
	}
}

// Options are the settings of the token requests; the zero value is
// production's: the controller's environment credentials and the
// default HTTP client.
type Options struct {
	// HTTPClient, when set, carries the token and registry login requests.
	HTTPClient *http.Client
	// Identity, when set, is the workload identity to use instead of the
	// controller's environment credentials.
	Identity *ServiceAccountIdentity
}

// AWSConfig is the AWS SDK configuration for region: the web identity
// credentials of the ServiceAccount's IAM role when o has an Identity,
// otherwise the SDK's default chain (environment keys, shared config,
// the pod's own web identity, the instance metadata service).
func AWSConfig(ctx context.Context, region string, o Options) (aws.Config, error) {
	load := func(creds aws.CredentialsProvider) (aws.Config, error) {
		return awsconfig.LoadDefaultConfig(ctx, func(lo *awsconfig.LoadOptions) error {
			lo.Region = region
			if creds != nil {
				lo.Credentials = creds
			}
			if o.HTTPClient != nil {
				lo.HTTPClient = o.HTTPClient
			}
			return nil
		})
	}
	if o.Identity == nil {
		return load(nil)
	}
	role := o.Identity.Annotations[AnnotationAWSRoleARN]
	if role == "" {
		return aws.Config{}, configError(errIdentityConfig, "ServiceAccount %s has no %s annotation", o.Identity.Name, AnnotationAWSRoleARN)
	}
	// STS is called anonymously: the web identity token is the credential.
	stsCfg, err := load(aws.AnonymousCredentials{})
	if err != nil {
		return aws.Config{}, err
	}
	tokens := tokenRetriever{ctx: ctx, id: o.Identity}
	return load(aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(stsCfg), role, tokens)))
}

type tokenRetriever struct {
	ctx context.Context
	id  *ServiceAccountIdentity
}

func (t tokenRetriever) GetIdentityToken() ([]byte, error) {
	tok, err := t.id.Token(t.ctx, AudienceAWS)
	return []byte(tok), err
}

// AzureCredential is a client assertion credential of the Entra
// application the Identity's annotations name when o has one, otherwise
// the SDK's default chain (environment client secret or certificate,
// the pod's own workload identity, managed identity).
func AzureCredential(o Options) (azcore.TokenCredential, error) {
	co := AzureClientOptions(o.HTTPClient)
	if id := o.Identity; id != nil {
		client, tenant := id.Annotations[AnnotationAzureClientID], id.Annotations[AnnotationAzureTenantID]
		if client == "" || tenant == "" {
			return nil, configError(errIdentityConfig, "ServiceAccount %s needs the %s and %s annotations", id.Name, AnnotationAzureClientID, AnnotationAzureTenantID)
		}
		assertion := func(ctx context.Context) (string, error) { return id.Token(ctx, AudienceAzure) }
		return azidentity.NewClientAssertionCredential(tenant, client, assertion,
			&azidentity.ClientAssertionCredentialOptions{ClientOptions: co})
	}
	c, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co})
	if err != nil {
		return nil, fmt.Errorf("no Azure credentials: %v", err)
	}
	return c, nil
}

// AzureClientOptions are the Azure SDK client options that send requests
// through hc (the SDK's default transport when nil).
func AzureClientOptions(hc *http.Client) azcore.ClientOptions {
	var co azcore.ClientOptions
	if hc != nil {
		co.Transport = hc
	}
	return co
}
