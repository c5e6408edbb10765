package bucket

import "errors"

// ErrBucketNotFound is a bucket (or Azure container) the endpoint does
// not have.
var ErrBucketNotFound = errors.New("bucket not found")

// IsAuthError reports credentials a provider refused: an S3 or STS
// access denial or bad signature, a Google or Azure 401/403, or a failed
// token exchange.
func IsAuthError(err error) bool {
	return err != nil && (s3Refused(err) || gcsRefused(err) || azureRefused(err))
}
