package sops

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The ServiceAccount annotations that name a cloud identity, as in Flux
// (and EKS and Azure workload identity).
const (
	AnnotationAWSRoleARN    = "eks.amazonaws.com/role-arn"
	AnnotationAzureClientID = "azure.workload.identity/client-id"
	AnnotationAzureTenantID = "azure.workload.identity/tenant-id"
	AudienceAWS             = "sts.amazonaws.com"
	AudienceAzure           = "api://AzureADTokenExchange"
)

// ServiceAccountIdentity is the identity of spec.decryption.serviceAccountName
// (object-level workload identity): cloud keys with no credentials in the
// Secret are decrypted as the cloud identity its annotations name, with a
// token of the ServiceAccount exchanged at the cloud's token service.
type ServiceAccountIdentity struct {
	// Name is namespace/name, for messages.
	Name string
	// Annotations of the ServiceAccount.
	Annotations map[string]string
	// Token mints a token of the ServiceAccount for an audience.
	Token func(ctx context.Context, audience string) (string, error)
}

var kmsRegion = regexp.MustCompile(`^arn:aws[\w-]*:kms:([^:]+):`)

// awsCredentials returns web identity credentials of the ServiceAccount's
// IAM role, for a key in the region of its ARN.
func (id *ServiceAccountIdentity) awsCredentials(ctx context.Context, arn string, o Options) (aws.CredentialsProvider, error) {
	role := id.Annotations[AnnotationAWSRoleARN]
	if role == "" {
		return nil, fmt.Errorf("ServiceAccount %s has no %s annotation", id.Name, AnnotationAWSRoleARN)
	}
	m := kmsRegion.FindStringSubmatch(arn)
	if m == nil {
		return nil, fmt.Errorf("no region in the key ARN")
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, func(lo *awsconfig.LoadOptions) error {
		lo.Region = m[1]
		lo.Credentials = aws.AnonymousCredentials{}
		if o.HTTPClient != nil {
			lo.HTTPClient = o.HTTPClient
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tokens := tokenRetriever{ctx: ctx, id: id}
	return aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(cfg), role, tokens)), nil
}

type tokenRetriever struct {
	ctx context.Context
	id  *ServiceAccountIdentity
}

func (t tokenRetriever) GetIdentityToken() ([]byte, error) {
	tok, err := t.id.Token(t.ctx, AudienceAWS)
	return []byte(tok), err
}

// azureCredential returns a client assertion credential of the Entra
// application the ServiceAccount's annotations name.
func (id *ServiceAccountIdentity) azureCredential(o Options) (azcore.TokenCredential, error) {
	client, tenant := id.Annotations[AnnotationAzureClientID], id.Annotations[AnnotationAzureTenantID]
	if client == "" || tenant == "" {
		return nil, fmt.Errorf("ServiceAccount %s needs the %s and %s annotations", id.Name, AnnotationAzureClientID, AnnotationAzureTenantID)
	}
	assertion := func(ctx context.Context) (string, error) { return id.Token(ctx, AudienceAzure) }
	return azidentity.NewClientAssertionCredential(tenant, client, assertion,
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: azureClientOptions(o)})
}

var errGCPIdentity = errors.New("object-level workload identity is not supported for GCP KMS: put a service account key in " + GCPKMSKey)
