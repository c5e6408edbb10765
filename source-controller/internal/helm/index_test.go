package helm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// helmNormalised is the reference: Helm's own loader, then the index as
// JSON with no generation time.
func helmNormalised(t testing.TB, path string) ([]byte, error) {
	index, err := repo.LoadIndexFile(path)
	if err != nil {
		return nil, err
	}
	index.Generated = time.Time{}
	data, err := json.Marshal(index)
	if err != nil {
		t.Fatal(err)
	}
	return data, nil
}

// normalised is this package's parse of the index at path, as JSON.
func normalised(path string) ([]byte, error) {
	idx, err := parseIndexFile(path)
	if err != nil {
		return nil, err
	}
	defer idx.close()
	var buf bytes.Buffer
	if err := idx.writeJSON(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sameAsHelm checks that data parses as Helm parses it: refused when Helm
// refuses it, else to the same JSON.
func sameAsHelm(t *testing.T, data []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "index.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want, wantErr := helmNormalised(t, path)
	got, err := normalised(path)
	if wantErr != nil {
		if err == nil {
			t.Fatalf("Helm refuses the index (%v), parsed as %s", wantErr, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("Helm parses the index, refused: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("parsed as\n%s\nHelm parses\n%s", got, want)
	}
}

func helmWrittenIndex(t testing.TB) []byte {
	index := repo.NewIndexFile()
	for _, v := range []string{"1.0.0", "1.2.0", "0.9.0", "2.0.0-rc.1", "1.0.0+build.1"} {
		md := &chart.Metadata{APIVersion: "v2", Name: "podinfo", Version: v, Description: "line one\nline two\n\n# not a comment",
			Annotations: map[string]string{"a": "b"}, Keywords: []string{"x", "y"}}
		if err := index.MustAdd(md, "podinfo-"+v+".tgz", "https://example.com/charts", strings.Repeat("ab", 32)); err != nil {
			t.Fatal(err)
		}
	}
	if err := index.MustAdd(&chart.Metadata{APIVersion: "v1", Name: "redis", Version: "3.1.0"}, "redis-3.1.0.tgz", "", "00"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "index.yaml")
	if err := index.WriteFile(path, 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var indexSeeds = map[string]string{
	"minimal":        "apiVersion: v1\nentries:\n  podinfo:\n  - name: podinfo\n    version: 6.0.0\n    urls: [podinfo-6.0.0.tgz]\n",
	"indented items": "apiVersion: v1\nentries:\n  podinfo:\n    - name: podinfo\n      version: 6.0.0\n    - name: podinfo\n      version: 6.1.0\n      description: |\n        text\n\n        # heading\n",
	"comments":       "# generated\napiVersion: v1\nentries: # all\n  # first\n  app:   # chart\n  - name: app # name\n    version: 1.0.0\n\n  # gap\n  - name: app\n    version: 1.0.1\ngenerated: \"2026-01-01T00:00:00Z\"\nserverInfo:\n  contextPath: /x\n",
	"empty chart":    "apiVersion: v1\nentries:\n  app:\n  other:\n  - name: other\n    version: 1.0.0\n",
	"invalid entry":  "apiVersion: v1\nentries:\n  app:\n  - name: app\n  - name: ../x\n    version: 1.0.0\n  -\n",
	"flow":           "{apiVersion: v1, entries: {app: [{name: app, version: 1.0.0}]}}\n",
	"json":           `{"apiVersion":"v1","entries":{"app":[{"name":"app","version":"1.0.0","urls":["a.tgz"]}]}}`,
	"anchors":        "apiVersion: v1\nentries:\n  app:\n  - &v\n    name: app\n    version: 1.0.0\n  - *v\n",
	"duplicate":      "apiVersion: v1\nentries:\n  app:\n  - name: app\n    version: 1.0.0\n  app:\n  - name: app\n    version: 2.0.0\n",
	"unknown field":  "apiVersion: v1\nentries:\n  app:\n  - name: app\n    version: 1.0.0\n    surprise: 1\n",
	"no apiVersion":  "entries:\n  app:\n  - name: app\n    version: 1.0.0\n",
	"no entries":     "apiVersion: v1\nentries:\n",
	"document":       "---\napiVersion: v1\nentries:\n  app:\n  - name: app\n    version: 1.0.0\n",
	"numbers":        "apiVersion: v1\nentries:\n  1:\n  - name: \"1\"\n    version: 1.10\n    appVersion: 010\n",
	"crlf":           "apiVersion: v1\r\nentries:\r\n  app:\r\n  - name: app\r\n    version: 1.0.0\r\n",
	"not yaml":       "not: [yaml",
	"empty":          "",
}

func TestParseIndexLikeHelm(t *testing.T) {
	log.SetOutput(io.Discard) // Helm's loader logs the entries it skips
	defer log.SetOutput(os.Stderr)
	for name, data := range indexSeeds {
		t.Run(name, func(t *testing.T) { sameAsHelm(t, []byte(data)) })
	}
	t.Run("written by helm", func(t *testing.T) { sameAsHelm(t, helmWrittenIndex(t)) })
}

// The layout index generators write is read version by version, not as
// one document.
func TestParseIndexStreamsTheBlockLayout(t *testing.T) {
	for name, data := range map[string][]byte{
		"written by helm": helmWrittenIndex(t),
		"indented items":  []byte(indexSeeds["indented items"]),
		"comments":        []byte(indexSeeds["comments"]),
	} {
		idx, err := streamIndex(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		idx.close()
	}
}

// FuzzParseIndex: whatever the bytes, the index parses as Helm parses it
// (or is refused when Helm refuses it), and never panics.
func FuzzParseIndex(f *testing.F) {
	log.SetOutput(io.Discard)
	for _, data := range indexSeeds {
		f.Add([]byte(data))
	}
	f.Add(helmWrittenIndex(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsHelm(t, data)
	})
}

func TestCompactIndexGetsAsHelm(t *testing.T) {
	data := helmWrittenIndex(t)
	path := filepath.Join(t.TempDir(), "index.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	full, err := repo.LoadIndexFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := normalised(path)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := LoadCompactIndex(bytes.NewReader(stored))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range [][2]string{{"podinfo", ""}, {"podinfo", "1.x"}, {"podinfo", "1.0.0"}, {"podinfo", ">=2.0.0-0"},
		{"podinfo", "1.0.0+build.1"}, {"podinfo", "9.x"}, {"redis", "*"}, {"absent", "*"}, {"podinfo", "!!"}} {
		want, wantErr := full.Get(q[0], q[1])
		got, err := compact.Get(q[0], q[1])
		if (wantErr == nil) != (err == nil) {
			t.Fatalf("%v: error %v, Helm's %v", q, err, wantErr)
		}
		if err != nil {
			continue
		}
		if got.Version != want.Version || got.Digest != want.Digest || !slicesEqual(got.URLs, want.URLs) || !got.Created.Equal(want.Created) {
			t.Fatalf("%v: got %+v, Helm's %+v", q, got, want)
		}
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func TestIndexCacheLoadsOnce(t *testing.T) {
	c := &IndexCache{TTL: 1 << 40}
	loads := 0
	load := func() (*CompactIndex, error) { loads++; return &CompactIndex{}, nil }
	for range 3 {
		if _, err := c.Get("sha256:a", load); err != nil {
			t.Fatal(err)
		}
	}
	if loads != 1 || c.Len() != 1 {
		t.Fatalf("loads = %d, entries = %d; want 1, 1", loads, c.Len())
	}
}
