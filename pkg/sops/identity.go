package sops

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"

	"gotk.dev/pkg/cloudauth"
)

var kmsRegion = regexp.MustCompile(`^arn:aws[\w-]*:kms:([^:]+):`)

// identityAWSCredentials returns web identity credentials of the
// ServiceAccount's IAM role, for a key in the region of its ARN.
func identityAWSCredentials(ctx context.Context, arn string, o Options) (aws.CredentialsProvider, error) {
	m := kmsRegion.FindStringSubmatch(arn)
	if m == nil {
		return nil, fmt.Errorf("no region in the key ARN")
	}
	cfg, err := cloudauth.AWSConfig(ctx, m[1], cloudOptions(o))
	if err != nil {
		return nil, err
	}
	return cfg.Credentials, nil
}

// cloudOptions are the token requests' settings of o.
func cloudOptions(o Options) cloudauth.Options {
	return cloudauth.Options{HTTPClient: o.HTTPClient, Identity: o.Identity}
}

var errGCPIdentity = errors.New("object-level workload identity is not supported for GCP KMS: put a service account key in " + GCPKMSKey)
