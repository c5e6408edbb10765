package testserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

func download(t *testing.T, c *http.Client, url string, auth BasicAuth) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth.Enabled() {
		req.SetBasicAuth(auth.Username, auth.Password)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestHelmRepo(t *testing.T) {
	creds := BasicAuth{Username: "helm", Password: "pw"}
	h := NewHelmRepoForTest(t, HelmRepoOptions{Auth: creds, TLS: true})
	if err := h.AddChart("podinfo", "6.0.0", nil); err != nil {
		t.Fatal(err)
	}
	if err := h.AddChart("podinfo", "6.1.0", map[string]string{
		"values.yaml":         "replicas: 2\n",
		"templates/svc.yaml":  "kind: Service\n",
		"templates/_help.tpl": "{{- define \"x\" -}}x{{- end -}}\n",
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.AddChart("other", "0.1.0", map[string]string{"Chart.yaml": "apiVersion: v2\nname: other\nversion: 0.1.0\n"}); err != nil {
		t.Fatal(err)
	}
	if err := h.AddChart("bad", "1.0.0", map[string]string{"Chart.yaml": "apiVersion: v2\nname: wrong\nversion: 1.0.0\n"}); err == nil {
		t.Fatal("mismatched Chart.yaml accepted")
	}

	if code, _ := download(t, h.Client(), h.IndexURL(), BasicAuth{}); code != http.StatusUnauthorized {
		t.Fatalf("anonymous index: status %d", code)
	}
	code, index := download(t, h.Client(), h.IndexURL(), creds)
	if code != http.StatusOK {
		t.Fatalf("index: status %d", code)
	}
	file := filepath.Join(t.TempDir(), "index.yaml")
	if err := os.WriteFile(file, index, 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := repo.LoadIndexFile(file)
	if err != nil {
		t.Fatalf("LoadIndexFile: %v", err)
	}
	if len(idx.Entries["podinfo"]) != 2 || len(idx.Entries["other"]) != 1 {
		t.Fatalf("entries: %v", idx.Entries)
	}
	cv, err := idx.Get("podinfo", "")
	if err != nil || cv.Version != "6.1.0" {
		t.Fatalf("latest podinfo = %v, %v", cv, err)
	}
	if len(cv.URLs) != 1 || cv.URLs[0] != h.ChartURL("podinfo", "6.1.0") {
		t.Fatalf("urls = %v", cv.URLs)
	}
	code, tgz := download(t, h.Client(), cv.URLs[0], creds)
	if code != http.StatusOK {
		t.Fatalf("chart: status %d", code)
	}
	sum := sha256.Sum256(tgz)
	if hex.EncodeToString(sum[:]) != cv.Digest {
		t.Fatalf("chart digest %x, index says %s", sum, cv.Digest)
	}
	c, err := loader.LoadArchive(bytes.NewReader(tgz))
	if err != nil {
		t.Fatalf("LoadArchive: %v", err)
	}
	if c.Name() != "podinfo" || c.Metadata.Version != "6.1.0" || c.Metadata.APIVersion != "v2" {
		t.Fatalf("chart metadata %+v", c.Metadata)
	}
	if len(c.Templates) != 2 || c.Values["replicas"] != float64(2) {
		t.Fatalf("templates %d values %v", len(c.Templates), c.Values)
	}

	// The default chart renders a ConfigMap template.
	_, tgz = download(t, h.Client(), h.ChartURL("podinfo", "6.0.0"), creds)
	c, err = loader.LoadArchive(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Templates) != 1 || !strings.Contains(string(c.Templates[0].Data), "ConfigMap") || c.Values["message"] != "hello" {
		t.Fatalf("default chart: %v %v", c.Templates, c.Values)
	}
}
