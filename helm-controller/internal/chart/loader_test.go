package chart

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"gotk.dev/pkg/artifact"
	"gotk.dev/pkg/testserver"
)

func packaged(t *testing.T) []byte {
	t.Helper()
	c, err := loader.LoadFiles([]*archive.BufferedFile{
		{Name: "Chart.yaml", Data: []byte("apiVersion: v2\nname: demo\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.enabled\n")},
		{Name: "values.yaml", Data: []byte("sub:\n  enabled: true\n")},
		{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")},
		{Name: "charts/sub/Chart.yaml", Data: []byte("apiVersion: v2\nname: sub\nversion: 0.1.0\n")},
		{Name: "charts/sub/templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	path, err := chartutil.Save(c, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoaderCachesByDigestAndClones(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewArtifactServerForTest(t)
	url, digest, _, err := srv.AddBytes("demo-0.1.0.tgz", packaged(t))
	g.Expect(err).NotTo(HaveOccurred())
	l := NewLoader(artifact.NewFetcher(1, 0, 0), 2)

	var wg sync.WaitGroup
	charts := make([]*helmchart.Chart, 8)
	for i := range charts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := l.Load(context.Background(), url, digest)
			if err == nil {
				charts[i] = c
			}
		}(i)
	}
	wg.Wait()
	g.Expect(srv.Downloads("demo-0.1.0.tgz")).To(Equal(1), "one download per digest")
	g.Expect(l.Downloads()).To(Equal(1))
	for _, c := range charts {
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Name()).To(Equal("demo"))
		g.Expect(c.Dependencies()).To(HaveLen(1))
	}

	// What Helm changes on one copy does not leak into another.
	charts[0].Metadata.Dependencies[0].Enabled = true
	charts[0].SetDependencies()
	charts[0].Values["sub"].(map[string]any)["enabled"] = false
	again, err := l.Load(context.Background(), url, digest)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Metadata.Dependencies[0].Enabled).To(BeFalse())
	g.Expect(again.Dependencies()).To(HaveLen(1))
	g.Expect(again.Dependencies()[0].Parent()).To(BeIdenticalTo(again))
	g.Expect(again.Values["sub"].(map[string]any)["enabled"]).To(BeTrue())
}

func TestLoaderErrors(t *testing.T) {
	g := NewWithT(t)
	srv := testserver.NewArtifactServerForTest(t)
	l := NewLoader(artifact.NewFetcher(0, 0, 0), 0)

	url, digest, _, _ := srv.AddBytes("junk.tgz", []byte("not a chart"))
	_, err := l.Load(context.Background(), url, digest)
	var le *LoadError
	g.Expect(errors.As(err, &le)).To(BeTrue(), "got %v", err)

	url, _, _, _ = srv.AddBytes("demo.tgz", packaged(t))
	_, err = l.Load(context.Background(), url, "sha256:0000000000000000000000000000000000000000000000000000000000000000")
	g.Expect(errors.Is(err, artifact.ErrDigestMismatch)).To(BeTrue(), "got %v", err)

	_, err = l.Load(context.Background(), srv.URL("missing.tgz"), digest)
	g.Expect(errors.Is(err, artifact.ErrNotFound)).To(BeTrue(), "got %v", err)
}
