package bucket

import (
	"errors"

	"github.com/minio/minio-go/v7"
)

// ErrBucketNotFound is a bucket (or Azure container) the endpoint does
// not have.
var ErrBucketNotFound = errors.New("bucket not found")

// IsAuthError reports credentials a provider refused: an S3 or STS
// access denial or bad signature, a Google or Azure 401/403, or a failed
// token exchange.
func IsAuthError(err error) bool {
	return err != nil && (s3Refused(err) || gcsRefused(err) || azureRefused(err))
}

// WrongRegion reports an S3 refusal of a request signed for another
// region than the bucket's, with the region the endpoint says the bucket
// is in.
func WrongRegion(err error) (expected string, ok bool) {
	var e minio.ErrorResponse
	if !errors.As(err, &e) {
		return "", false
	}
	// AuthorizationHeaderMalformed covers other header faults too; the
	// region one names the expected region.
	return e.Region, e.Region != "" && (e.Code == "AuthorizationHeaderMalformed" || e.Code == "InvalidRegion")
}
