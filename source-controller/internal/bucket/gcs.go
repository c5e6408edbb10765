package bucket

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// GCSDefaultEndpoint is Google Cloud Storage's own endpoint, the one
// Flux's documentation gives for provider gcp.
const GCSDefaultEndpoint = "storage.googleapis.com"

// GCSOptions say how to reach a Google Cloud Storage bucket.
type GCSOptions struct {
	// Endpoint is the host (or URL) of the JSON API; empty or
	// GCSDefaultEndpoint is Google's own.
	Endpoint string
	// Insecure uses plain HTTP for an endpoint given without a scheme.
	Insecure bool
	Bucket   string
	// ServiceAccountJSON is a service account key; empty uses Application
	// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the metadata
	// server).
	ServiceAccountJSON []byte
}

// NewGCS returns a client for the Google Cloud Storage bucket.
func NewGCS(ctx context.Context, o GCSOptions) (*Client, error) {
	var opts []option.ClientOption
	if o.Endpoint != "" && o.Endpoint != GCSDefaultEndpoint && o.Endpoint != "https://"+GCSDefaultEndpoint {
		opts = append(opts, option.WithEndpoint(gcsEndpoint(o.Endpoint, o.Insecure)))
	}
	if len(o.ServiceAccountJSON) > 0 {
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, o.ServiceAccountJSON))
	}
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return &Client{s: gcsStore{c: c, b: c.Bucket(o.Bucket)}, bucket: o.Bucket}, nil
}

// gcsEndpoint is the JSON API base URL of an endpoint host or URL.
func gcsEndpoint(endpoint string, insecure bool) string {
	if !strings.Contains(endpoint, "://") {
		scheme := "https://"
		if insecure {
			scheme = "http://"
		}
		endpoint = scheme + endpoint
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	if !strings.HasSuffix(endpoint, "/storage/v1") {
		endpoint += "/storage/v1"
	}
	return endpoint + "/"
}

type gcsStore struct {
	c *storage.Client
	b *storage.BucketHandle
}

func (s gcsStore) close() error { return s.c.Close() }

func (s gcsStore) list(ctx context.Context, prefix string, add func(Object)) error {
	// Reading the bucket first tells a missing bucket from an empty prefix.
	if _, err := s.b.Attrs(ctx); err != nil {
		if errors.Is(err, storage.ErrBucketNotExist) {
			return ErrBucketNotFound
		}
		return err
	}
	it := s.b.Objects(ctx, &storage.Query{Prefix: prefix})
	for {
		attrs, err := it.Next()
		if err == iterator.Done {
			return nil
		}
		if err != nil {
			return err
		}
		add(Object{Key: attrs.Name, ETag: attrs.Etag, Size: attrs.Size})
	}
}

func (s gcsStore) open(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.b.Object(key).NewReader(ctx)
}

// gcsRefused reports a Google API error refusing the credentials, or a
// token exchange that failed.
func gcsRefused(err error) bool {
	var e *googleapi.Error
	if errors.As(err, &e) {
		return e.Code == http.StatusUnauthorized || e.Code == http.StatusForbidden
	}
	var te *auth.Error
	return errors.As(err, &te)
}
