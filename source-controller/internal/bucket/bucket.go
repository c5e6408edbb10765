// Package bucket reads objects from object storage buckets (S3-compatible
// with minio-go, Google Cloud Storage, Azure Blob Storage) and computes
// the index digest a Bucket artifact's revision is.
package bucket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

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

// store is one provider's access to a bucket.
type store interface {
	// list calls add for every object under prefix, in any order.
	list(ctx context.Context, prefix string, add func(Object)) error
	// open reads an object's content.
	open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Client reads one bucket.
type Client struct {
	s      store
	bucket string
}

// Close releases the provider client's resources (idle connections).
func (c *Client) Close() error {
	if cl, ok := c.s.(interface{ close() error }); ok {
		return cl.close()
	}
	return nil
}

// List returns the objects under prefix, sorted by key, skipping those
// keep rejects.
func (c *Client) List(ctx context.Context, prefix string, keep func(key string) bool) ([]Object, error) {
	var out []Object
	err := c.s.list(ctx, prefix, func(o Object) {
		if strings.HasSuffix(o.Key, "/") || (keep != nil && !keep(o.Key)) {
			return
		}
		out = append(out, o)
	})
	if err != nil {
		return nil, fmt.Errorf("listing bucket '%s': %w", c.bucket, err)
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
	obj, err := c.s.open(ctx, o.Key)
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
