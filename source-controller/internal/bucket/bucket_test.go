package bucket

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotk.dev/pkg/testserver"
)

func TestDownloadRefusesKeysOutsideTheDirectory(t *testing.T) {
	s3 := testserver.NewS3ForTest(t, testserver.S3Options{})
	if err := s3.CreateBucket("bucket"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"ok/a.yaml", "../../x"} {
		if err := s3.PutObject("bucket", key, "data"); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(Options{Endpoint: s3.Endpoint(), Bucket: "bucket", Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	objects, err := c.List(context.Background(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "work")
	err = c.Download(context.Background(), objects, dir, 0)
	if err == nil || !strings.Contains(err.Error(), `"../../x"`) {
		t.Fatalf("Download = %v, want the escaping key refused by name", err)
	}
	if _, err := os.Stat(filepath.Join(root, "..", "x")); err == nil {
		t.Fatal("a file was written outside the directory")
	}
}

func TestDigestChangesWithContent(t *testing.T) {
	a := []Object{{Key: "a", ETag: "1"}, {Key: "b", ETag: "2"}}
	b := []Object{{Key: "a", ETag: "1"}, {Key: "b", ETag: "3"}}
	if Digest(a) == Digest(b) || Digest(a) != Digest(append([]Object{}, a...)) {
		t.Fatal("digest must follow keys and ETags only")
	}
}
