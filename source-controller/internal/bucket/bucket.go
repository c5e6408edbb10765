// Package bucket reads objects from S3-compatible buckets with minio-go
// and computes the index digest a Bucket artifact's revision is.
package bucket

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"gotk.dev/pkg/artifact/securepath"
)

// Object is one listed object.
type Object struct {
	// Key is the object's name in the bucket.
	Key string
	// ETag identifies the object's content.
	ETag string
	// Size is the content length.
	Size int64
}

// Client reads one bucket.
type Client struct {
	c      *minio.Client
	bucket string
}

// Options say how to reach the bucket.
type Options struct {
	Endpoint, Bucket, Region string
	// Insecure uses plain HTTP.
	Insecure bool
	// AccessKey and SecretKey (and SessionToken, for temporary
	// credentials) sign requests; anonymous when empty.
	AccessKey, SecretKey, SessionToken string
	// TLS is the client TLS configuration (nil: system roots).
	TLS *tls.Config
}

// New returns a client for the bucket.
func New(o Options) (*Client, error) {
	mo := &minio.Options{Secure: !o.Insecure, Region: o.Region}
	if o.AccessKey != "" {
		mo.Creds = credentials.NewStaticV4(o.AccessKey, o.SecretKey, o.SessionToken)
	}
	if o.TLS != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = o.TLS
		mo.Transport = tr
	}
	c, err := minio.New(o.Endpoint, mo)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", o.Endpoint, err)
	}
	return &Client{c: c, bucket: o.Bucket}, nil
}

// List returns the objects under prefix, sorted by key, skipping those
// keep rejects.
func (c *Client) List(ctx context.Context, prefix string, keep func(key string) bool) ([]Object, error) {
	var out []Object
	for obj := range c.c.ListObjects(ctx, c.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("listing bucket '%s': %w", c.bucket, obj.Err)
		}
		if strings.HasSuffix(obj.Key, "/") || (keep != nil && !keep(obj.Key)) {
			continue
		}
		out = append(out, Object{Key: obj.Key, ETag: obj.ETag, Size: obj.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Digest is the hex sha256 of the object index (keys and ETags), which
// changes whenever an object is added, removed or rewritten.
func Digest(objects []Object) string {
	h := sha256.New()
	for _, o := range objects {
		fmt.Fprintf(h, "%s %s\n", o.Key, o.ETag)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Download writes the objects under dir, at most maxTotal bytes in all
// (0: no limit). Keys are untrusted: each is written through an os.Root
// on dir, so a key cannot leave it.
func (c *Client) Download(ctx context.Context, objects []Object, dir string, maxTotal int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := securepath.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var total int64
	for _, o := range objects {
		total += o.Size
		if maxTotal > 0 && total > maxTotal {
			return fmt.Errorf("bucket '%s' holds more than %d bytes under the prefix", c.bucket, maxTotal)
		}
		if err := c.download(ctx, o, root); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) download(ctx context.Context, o Object, root *securepath.Root) error {
	name, err := securepath.Clean(o.Key)
	if err != nil {
		return fmt.Errorf("object key %q: %w", o.Key, err)
	}
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return fmt.Errorf("object key %q: %w", o.Key, err)
	}
	obj, err := c.c.GetObject(ctx, c.bucket, o.Key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("reading object %q: %w", o.Key, err)
	}
	defer obj.Close()
	f, err := root.Create(name)
	if err != nil {
		return fmt.Errorf("object key %q: %w", o.Key, err)
	}
	n, err := io.Copy(f, io.LimitReader(obj, o.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("reading object %q: %w", o.Key, err)
	}
	if n != o.Size {
		return fmt.Errorf("object %q changed while being read (%d bytes, listed %d)", o.Key, n, o.Size)
	}
	return nil
}

// IsAuthError reports refused credentials.
func IsAuthError(err error) bool {
	var e minio.ErrorResponse
	if errors.As(err, &e) {
		switch e.Code {
		case "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId":
			return true
		}
		return e.StatusCode == http.StatusForbidden || e.StatusCode == http.StatusUnauthorized
	}
	return false
}
