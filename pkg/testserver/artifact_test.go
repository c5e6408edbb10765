package testserver

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"testing"
)

func TestArtifactServer(t *testing.T) {
	a := NewArtifactServerForTest(t)
	files := map[string]string{"b/deploy.yaml": "kind: Deployment\n", "a.yaml": "kind: ConfigMap\n"}
	url, digest, size, err := a.AddFiles("gitrepository/default/app/latest.tar.gz", files)
	if err != nil {
		t.Fatal(err)
	}
	code, body := download(t, http.DefaultClient, url, BasicAuth{})
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if Digest(body) != digest || int64(len(body)) != size {
		t.Fatalf("downloaded %d bytes %s, server said %d %s", len(body), Digest(body), size, digest)
	}
	if a.Downloads("gitrepository/default/app/latest.tar.gz") != 1 {
		t.Fatal("download not counted")
	}

	// Deterministic: the same files give the same bytes, also via AddDir.
	_, digest2, _, err := a.AddFiles("again.tar.gz", files)
	if err != nil || digest2 != digest {
		t.Fatalf("second tarball digest %s (%v), want %s", digest2, err, digest)
	}
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "a.yaml"), files["a.yaml"], 0o600)
	mustWrite(t, filepath.Join(dir, "b", "deploy.yaml"), files["b/deploy.yaml"], 0o640)
	if _, digest3, _, err := a.AddDir("dir.tar.gz", dir); err != nil || digest3 != digest {
		t.Fatalf("AddDir digest %s (%v), want %s", digest3, err, digest)
	}

	// Normalised headers.
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: unnormalised header %+v", h.Name, h)
		}
		if h.Typeflag == tar.TypeReg {
			names = append(names, h.Name)
			content, _ := io.ReadAll(tr)
			if string(content) != files[h.Name] {
				t.Errorf("%s = %q", h.Name, content)
			}
		}
	}
	if !sort.StringsAreSorted(names) || len(names) != 2 {
		t.Fatalf("entries %v", names)
	}

	_, corruptDigest, _, _ := a.AddBytes("corrupt.tar.gz", []byte("not a tarball"))
	if corruptDigest == digest {
		t.Fatal("digest collision")
	}
	a.Remove("corrupt.tar.gz")
	if code, _ := download(t, http.DefaultClient, a.URL("corrupt.tar.gz"), BasicAuth{}); code != http.StatusNotFound {
		t.Fatalf("removed artifact: status %d", code)
	}
	if _, _, _, err := a.AddFiles("x.tar.gz", map[string]string{"../escape": "x"}); err == nil {
		t.Fatal("path escaping the archive accepted")
	}
}
