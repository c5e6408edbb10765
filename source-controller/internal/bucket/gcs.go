package bucket

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"
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
	// TLS is the client TLS configuration (nil: system roots).
	TLS *tls.Config
	// Proxy, when set, carries every request, the key's token exchange
	// included (spec.proxySecretRef).
	Proxy *url.URL
}

// NewGCS returns a client for the Google Cloud Storage bucket. Its
// requests, and a service account key's token exchange, go through one
// transport carrying the TLS settings and the proxy.
func NewGCS(ctx context.Context, o GCSOptions) (*Client, error) {
	base := transport(o.TLS, o.Proxy)
	detect := &credentials.DetectOptions{Scopes: []string{storage.ScopeReadOnly}, Client: &http.Client{Transport: base}}
	var creds *auth.Credentials
	var err error
	if len(o.ServiceAccountJSON) > 0 {
		creds, err = credentials.NewCredentialsFromJSON(credentials.ServiceAccount, o.ServiceAccountJSON, detect)
	} else {
		// Application Default Credentials keep the library's own client:
		// the metadata server is never behind the bucket's proxy.
		detect.Client = nil
		creds, err = credentials.DetectDefault(detect)
	}
	if err != nil {
		return nil, err
	}
	rt, err := htransport.NewTransport(ctx, base, option.WithAuthCredentials(creds))
	if err != nil {
		return nil, err
	}
	// The credentials go to NewClient too, or it looks for its own.
	opts := []option.ClientOption{option.WithHTTPClient(&http.Client{Transport: rt}), option.WithAuthCredentials(creds)}
	if o.Endpoint != "" && o.Endpoint != GCSDefaultEndpoint && o.Endpoint != "https://"+GCSDefaultEndpoint {
		opts = append(opts, option.WithEndpoint(gcsEndpoint(o.Endpoint, o.Insecure)))
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
