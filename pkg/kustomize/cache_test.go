package kustomize

import (
	"testing"

	. "github.com/onsi/gomega"

	kustomizev1 "gotk.dev/pkg/apis/kustomize/v1"
)

// passThrough is a decryptor that changes nothing.
type passThrough struct{}

func (passThrough) DecryptFile(_ string, b []byte) ([]byte, bool, error) { return b, false, nil }

// decrypting says it decrypted every file (leaving it as it is).
type decrypting struct{}

func (decrypting) DecryptFile(_ string, b []byte) ([]byte, bool, error) { return b, true, nil }

func TestBuildCache(t *testing.T) {
	f := files(t, map[string]string{
		"app/a.yaml": cmYAML("a") + "---\n" + cmYAML("b-${suffix:=x}"),
		"app/web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n" +
			"spec:\n  replicas: 0\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n" +
			"    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}\n",
		"bad/a.yaml": cmYAML("a") + "---\n" + cmYAML("a"),
	})
	base := Options{Path: "app", TargetNamespace: "ns"}
	with := func(change func(*Options)) Options {
		o := base
		change(&o)
		return o
	}
	for _, tc := range []struct {
		name string
		// first and second build the same files (digest, options).
		firstDigest, secondDigest string
		first, second             Options
		hit                       bool
		wantErr                   bool
	}{
		{name: "same digest and options", firstDigest: "d1", secondDigest: "d1", first: base, second: base, hit: true},
		{name: "new digest", firstDigest: "d1", secondDigest: "d2", first: base, second: base},
		{name: "no digest", first: base, second: base},
		{name: "other target namespace", firstDigest: "d1", secondDigest: "d1", first: base,
			second: with(func(o *Options) { o.TargetNamespace = "other" })},
		{name: "other name prefix", firstDigest: "d1", secondDigest: "d1", first: base,
			second: with(func(o *Options) { o.NamePrefix = "p-" })},
		{name: "other commonMetadata", firstDigest: "d1", secondDigest: "d1", first: base,
			second: with(func(o *Options) { o.CommonMetadata = &kustomizev1.CommonMetadata{Labels: map[string]string{"a": "b"}} })},
		{name: "same variables", firstDigest: "d1", secondDigest: "d1",
			first:  with(func(o *Options) { o.Substitution = &Substitution{Vars: map[string]string{"suffix": "1"}} }),
			second: with(func(o *Options) { o.Substitution = &Substitution{Vars: map[string]string{"suffix": "1"}} }), hit: true},
		{name: "other variable value", firstDigest: "d1", secondDigest: "d1",
			first:  with(func(o *Options) { o.Substitution = &Substitution{Vars: map[string]string{"suffix": "1"}} }),
			second: with(func(o *Options) { o.Substitution = &Substitution{Vars: map[string]string{"suffix": "2"}} })},
		{name: "a decryptor that decrypted nothing", firstDigest: "d1", secondDigest: "d1",
			first:  with(func(o *Options) { o.Decryptor = passThrough{} }),
			second: with(func(o *Options) { o.Decryptor = passThrough{} }), hit: true},
		{name: "decrypted output is never cached", firstDigest: "d1", secondDigest: "d1",
			first:  with(func(o *Options) { o.Decryptor = decrypting{} }),
			second: with(func(o *Options) { o.Decryptor = decrypting{} })},
		{name: "with and without a decryptor", firstDigest: "d1", secondDigest: "d1",
			first: base, second: with(func(o *Options) { o.Decryptor = passThrough{} })},
		{name: "a failed build is not cached", firstDigest: "d1", secondDigest: "d1",
			first: Options{Path: "bad"}, second: Options{Path: "bad"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c := &BuildCache{}
			got1, err := c.Build(f, tc.firstDigest, tc.first)
			if tc.wantErr {
				g.Expect(err).To(MatchError(ContainSubstring("already registered id")))
				_, err = c.Build(f, tc.secondDigest, tc.second)
				g.Expect(err).To(HaveOccurred())
				g.Expect(c.Len()).To(Equal(0))
				g.Expect(c.Hits()).To(Equal(0))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			// The caller owns what it got: changing it must not reach the cache.
			got1[0].SetLabels(map[string]string{"changed": "by-caller"})
			got2, err := c.Build(f, tc.secondDigest, tc.second)
			g.Expect(err).NotTo(HaveOccurred())
			want, err := Build(f, tc.second)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got2).To(Equal(want))
			if tc.hit {
				g.Expect(c.Hits()).To(Equal(1))
			} else {
				g.Expect(c.Hits()).To(Equal(0))
			}
		})
	}
}

func TestBuildCacheBound(t *testing.T) {
	g := NewWithT(t)
	f := files(t, map[string]string{"app/a.yaml": cmYAML("a")})
	out, err := build(f, Options{Path: "app"})
	g.Expect(err).NotTo(HaveOccurred())
	one := int64(len(out.json[0]))
	// Room for two outputs: the least recently used one goes first.
	c := &BuildCache{MaxBytes: 2 * one}
	for _, d := range []string{"d1", "d2", "d1", "d3"} {
		_, err := c.Build(f, d, Options{Path: "app"})
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(c.Len()).To(Equal(2))
	g.Expect(c.Hits()).To(Equal(1))
	_, _ = c.Build(f, "d1", Options{Path: "app"})
	g.Expect(c.Hits()).To(Equal(2), "d1 was used last, so d2 went")
	_, _ = c.Build(f, "d2", Options{Path: "app"})
	g.Expect(c.Hits()).To(Equal(2))

	// An output larger than the bound is not kept.
	small := &BuildCache{MaxBytes: one - 1}
	_, _ = small.Build(f, "d1", Options{Path: "app"})
	g.Expect(small.Len()).To(Equal(0))
}

func TestBuildRemoteMakesUncacheable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kfile string
		allow bool
		want  bool
	}{
		{name: "local only", kfile: "resources: [a.yaml]\n", allow: true},
		{name: "git base allowed", kfile: "resources:\n- a.yaml\n- github.com/org/repo//base?ref=v1\n", allow: true, want: true},
		{name: "missing local entry allowed (the loader may fetch it)", kfile: "resources: [a.yaml, other]\n", allow: true, want: true},
		{name: "missing local entry refused later by kustomize", kfile: "resources: [a.yaml, other]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := files(t, map[string]string{"app/kustomization.yaml": tc.kfile, "app/a.yaml": cmYAML("a")})
			fsys, err := f.fileSystem()
			g.Expect(err).NotTo(HaveOccurred())
			remote, err := checkRemote(fsys, "/app", map[string]bool{}, tc.allow)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(remote).To(Equal(tc.want))
		})
	}
	g := NewWithT(t)
	g.Expect(mentionsURL(files(t, map[string]string{"k/kustomization.yaml": "patches: [{path: https://example.com/p.yaml}]\n"}))).To(BeTrue())
	g.Expect(mentionsURL(files(t, map[string]string{"k/kustomization.yaml": "resources: [a.yaml]\n", "k/a.yaml": "# https://x\n"}))).To(BeFalse())
}
