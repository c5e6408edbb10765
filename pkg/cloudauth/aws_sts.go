package cloudauth

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AWSConfigWithSTS is AWSConfig with its web identity exchange (of the
// Identity, or of the pod's AWS_WEB_IDENTITY_TOKEN_FILE) sent to the STS
// at stsEndpoint, as a Bucket's spec.sts with provider aws asks.
func AWSConfigWithSTS(ctx context.Context, region, stsEndpoint string, o Options) (aws.Config, error) {
	load := func(fns ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
		return awsconfig.LoadDefaultConfig(ctx, append([]func(*awsconfig.LoadOptions) error{func(lo *awsconfig.LoadOptions) error {
			lo.Region = region
			if o.HTTPClient != nil {
				lo.HTTPClient = o.HTTPClient
			}
			return nil
		}}, fns...)...)
	}
	// STS is called anonymously: the web identity token is the credential.
	base, err := load(awsconfig.WithCredentialsProvider(aws.AnonymousCredentials{}))
	if err != nil {
		return aws.Config{}, err
	}
	stsClient := sts.NewFromConfig(base, func(so *sts.Options) { so.BaseEndpoint = aws.String(stsEndpoint) })
	if id := o.Identity; id != nil {
		role := id.Annotations[AnnotationAWSRoleARN]
		if role == "" {
			return aws.Config{}, configError(errIdentityConfig, "ServiceAccount %s has no %s annotation", id.Name, AnnotationAWSRoleARN)
		}
		provider := stscreds.NewWebIdentityRoleProvider(stsClient, role, tokenRetriever{ctx: ctx, id: id})
		return load(awsconfig.WithCredentialsProvider(aws.NewCredentialsCache(provider)))
	}
	return load(awsconfig.WithWebIdentityRoleCredentialOptions(func(wo *stscreds.WebIdentityRoleOptions) { wo.Client = stsClient }))
}
