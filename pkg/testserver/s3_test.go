package testserver

import (
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestS3WithMinioClient lists and reads objects with minio-go, the client
// Bucket sources use, and proves wrong keys are refused.
func TestS3WithMinioClient(t *testing.T) {
	s := NewS3ForTest(t, S3Options{AccessKey: "AKID", SecretKey: "s3cret"})
	if err := s.CreateBucket("manifests"); err != nil {
		t.Fatal(err)
	}
	for key, content := range map[string]string{"apps/a.yaml": "a: 1\n", "apps/b c.yaml": "b: 2\n", "other/x": "x"} {
		if err := s.PutObject("manifests", key, content); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	client := func(secret string) *minio.Client {
		c, err := minio.New(s.Endpoint(), &minio.Options{Creds: credentials.NewStaticV4("AKID", secret, ""), Secure: false, Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := client("s3cret")
	var keys []string
	for obj := range c.ListObjects(ctx, "manifests", minio.ListObjectsOptions{Prefix: "apps/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	if len(keys) != 2 {
		t.Fatalf("listed %v, want the 2 objects under apps/", keys)
	}
	obj, err := c.GetObject(ctx, "manifests", "apps/b c.yaml", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(obj)
	if err != nil || string(data) != "b: 2\n" {
		t.Fatalf("read %q, %v", data, err)
	}
	for obj := range client("wrong").ListObjects(ctx, "manifests", minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err == nil {
			t.Fatal("a wrong secret key listed objects")
		}
		break
	}
}
