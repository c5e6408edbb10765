package bucket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Options say how to reach an S3-compatible bucket (providers generic
// and aws).
type Options struct {
	Endpoint, Bucket, Region string
	// Insecure uses plain HTTP.
	Insecure bool
	// AccessKey and SecretKey (and SessionToken, for temporary
	// credentials) sign requests; anonymous when empty.
	AccessKey, SecretKey, SessionToken string
	// TLS is the client TLS configuration (nil: system roots).
	TLS *tls.Config
	// Proxy, when set, carries every request (spec.proxySecretRef).
	Proxy *url.URL
}

// New returns a client for the S3-compatible bucket.
func New(o Options) (*Client, error) {
	mo := &minio.Options{Secure: !o.Insecure, Region: o.Region}
	if o.AccessKey != "" {
		mo.Creds = credentials.NewStaticV4(o.AccessKey, o.SecretKey, o.SessionToken)
	}
	if o.TLS != nil || o.Proxy != nil {
		mo.Transport = transport(o.TLS, o.Proxy)
	}
	c, err := minio.New(o.Endpoint, mo)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", o.Endpoint, err)
	}
	return &Client{s: s3Store{c: c, bucket: o.Bucket}, bucket: o.Bucket}, nil
}

type s3Store struct {
	c      *minio.Client
	bucket string
}

func (s s3Store) list(ctx context.Context, prefix string, add func(Object)) error {
	for obj := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		add(Object{Key: obj.Key, ETag: obj.ETag, Size: obj.Size})
	}
	return nil
}

func (s s3Store) open(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
}

// LDAPCredentials exchanges an LDAP username and password at a MinIO
// Security Token Service (AssumeRoleWithLDAPIdentity) for temporary S3
// keys, sending the request with tlsConfig (nil: system roots).
func LDAPCredentials(ctx context.Context, endpoint, username, password string, tlsConfig *tls.Config) (accessKey, secretKey, sessionToken string, err error) {
	if u, perr := url.Parse(endpoint); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", "", fmt.Errorf("STS endpoint %q is not an http(s) URL", endpoint)
	}
	id := &credentials.LDAPIdentity{STSEndpoint: endpoint, LDAPUsername: username, LDAPPassword: password}
	if tlsConfig != nil {
		id.Client = &http.Client{Transport: transport(tlsConfig, nil)}
	}
	v, err := credentials.New(id).GetWithContext(&credentials.CredContext{Client: http.DefaultClient, Endpoint: endpoint, Context: ctx})
	if err != nil {
		return "", "", "", err
	}
	return v.AccessKeyID, v.SecretAccessKey, v.SessionToken, nil
}

// s3Refused reports an S3 or STS error response refusing the credentials.
func s3Refused(err error) bool {
	var e minio.ErrorResponse
	if errors.As(err, &e) {
		switch e.Code {
		case "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidClientTokenId":
			return true
		}
		return e.StatusCode == http.StatusForbidden || e.StatusCode == http.StatusUnauthorized
	}
	var sts credentials.ErrorResponse
	return errors.As(err, &sts) && sts.STSError.Code != ""
}
