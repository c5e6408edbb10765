package imagebuild_test

import (
	"archive/tar"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/gomega"

	"gotk.dev/pkg/imagebuild"
	"gotk.dev/pkg/testenv"
	"gotk.dev/pkg/testserver"
)

// created is the fixed time of the test builds (not the commit time, so
// the assertions do not depend on the checkout).
var created = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// helloTest is hello as the gotk-test image is made: a helper beside the
// entrypoint and the control plane binaries of Options.ControlPlaneDir.
var helloTest = imagebuild.Component{Name: "hello-test", Package: hello.Package, Entrypoint: "/hello",
	Helpers: []string{"./pkg/imagebuild/testdata/greet"}, ControlPlane: true, Description: "test"}

// fakeControlPlane is a directory of kube-apiserver and etcd: the hello
// binary for linux/amd64 under those names (small, and an ELF file as the
// real ones are).
func fakeControlPlane(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range imagebuild.ControlPlaneBinaries {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b), hello.Package)
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	return dir
}

// TestImagesAmd64 builds two small images for linux/amd64 twice (the
// controllers are built the same way; building them here would only
// cost time) and checks that the digests are equal, the tarball loads
// back, and each image holds exactly what it should: one plain, one laid
// out as gotk-test is (helper and control plane beside the entrypoint).
func TestImagesAmd64(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	opts := imagebuild.Options{Root: repoRoot(t), Platforms: []string{"linux/amd64"}, Components: []imagebuild.Component{hello, helloTest},
		ControlPlaneDir: fakeControlPlane(t),
		Version:         "v9.8.7", Revision: "0123456789abcdef0123456789abcdef01234567", Created: created}

	opts.OutDir = t.TempDir()
	first, err := imagebuild.Build(ctx, opts)
	g.Expect(err).NotTo(HaveOccurred())
	opts.OutDir = t.TempDir()
	second, err := imagebuild.Build(ctx, opts)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(second.Images).To(HaveLen(2))
	for i, img := range first.Images {
		g.Expect(second.Images[i].Index).To(Equal(img.Index), "%s: index digest differs between builds", img.Ref)
		g.Expect(second.Images[i].Manifests).To(Equal(img.Manifests), "%s: manifest digest differs between builds", img.Ref)
	}

	path := second.Tarballs["linux/amd64"]
	g.Expect(filepath.Base(path)).To(Equal("gotk-v9.8.7-linux-amd64.tar"))
	for _, img := range second.Images {
		t.Run(img.Component.Name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(img.Ref.String()).To(Equal("ghcr.io/gotk/" + img.Component.Name + ":v9.8.7"))
			tag := img.Ref
			loaded, err := tarball.ImageFromPath(path, &tag)
			g.Expect(err).NotTo(HaveOccurred())
			checkImage(g, loaded, img.Component, opts)
		})
	}

	// The control plane is the host's: an image for another architecture
	// is refused before anything is written.
	opts.Platforms, opts.OutDir = []string{"linux/arm64"}, t.TempDir()
	_, err = imagebuild.Build(ctx, opts)
	g.Expect(err).To(MatchError(And(ContainSubstring("kube-apiserver is for EM_X86_64, not linux/arm64"), ContainSubstring("make controlplane"))))
}

// TestGotkTestComponent: the gotk-test image holds gotk, gotk-sops and
// the control plane, and is asked for by name (it is not built by default).
func TestGotkTestComponent(t *testing.T) {
	g := NewWithT(t)
	cs, err := imagebuild.ComponentsByName([]string{"gotk-test"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cs).To(ConsistOf(HaveField("Name", "gotk-test")))
	c := cs[0]
	g.Expect(c.Package).To(Equal("./cli"))
	g.Expect(c.Helpers).To(Equal([]string{"./pkg/sops/cmd/gotk-sops"}))
	g.Expect(c.ControlPlane).To(BeTrue())
	g.Expect(imagebuild.Components).NotTo(ContainElement(HaveField("Name", "gotk-test")))
}

// checkImage asserts the config and the complete file list of an image.
func checkImage(g Gomega, img v1.Image, c imagebuild.Component, o imagebuild.Options) {
	cf, err := img.ConfigFile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cf.Config.User).To(Equal("65532:65532"))
	g.Expect(cf.Config.Entrypoint).To(Equal([]string{c.Entrypoint}))
	g.Expect(cf.Config.Cmd).To(BeEmpty())
	g.Expect(cf.Config.WorkingDir).To(Equal("/"))
	g.Expect(cf.Created.Time.Equal(created)).To(BeTrue(), "created %s", cf.Created)
	g.Expect(cf.Config.Labels).To(HaveKeyWithValue(imagebuild.LabelRevision, o.Revision))
	g.Expect(cf.Config.Labels).To(HaveKeyWithValue(imagebuild.LabelVersion, o.Version))
	g.Expect(cf.Config.Labels).To(HaveKeyWithValue(imagebuild.LabelTitle, c.Name))
	g.Expect(cf.Config.Labels).To(HaveKeyWithValue(imagebuild.LabelSource, imagebuild.DefaultSource))
	g.Expect(cf.Config.Labels).To(HaveKey(imagebuild.LabelLicenses))
	for _, h := range cf.History {
		g.Expect(h.Created.Time.Equal(created)).To(BeTrue())
	}

	files := map[string]*tar.Header{}
	var ca, passwd []byte
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		g.Expect(err).NotTo(HaveOccurred())
		name := "/" + strings.TrimSuffix(hdr.Name, "/")
		files[name] = hdr
		g.Expect(hdr.ModTime.Equal(created)).To(BeTrue(), "%s mtime %s", name, hdr.ModTime)
		switch name {
		case imagebuild.CABundlePath:
			ca, err = io.ReadAll(tr)
		case "/etc/passwd":
			passwd, err = io.ReadAll(tr)
		}
		g.Expect(err).NotTo(HaveOccurred())
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	// The complete list: no shell, no /bin, nothing from the build host
	// but the control plane binaries asked for.
	bins := []string{c.Entrypoint}
	for _, h := range c.Helpers {
		bins = append(bins, "/"+filepath.Base(h))
	}
	if c.ControlPlane {
		for _, b := range imagebuild.ControlPlaneBinaries {
			bins = append(bins, "/"+b)
		}
	}
	g.Expect(names).To(ConsistOf(append(bins, "/etc", "/etc/ssl", "/etc/ssl/certs", imagebuild.CABundlePath,
		"/etc/passwd", "/etc/group", "/home", "/home/nonroot", "/tmp")))
	for _, b := range bins {
		g.Expect(files[b].Mode).To(Equal(int64(0o755)), b)
		g.Expect(files[b].Size).To(BeNumerically(">", 100<<10), b)
	}
	g.Expect(files["/tmp"].Mode).To(Equal(int64(0o1777)))
	for n, hdr := range files {
		if n == "/home/nonroot" {
			g.Expect([]int{hdr.Uid, hdr.Gid}).To(Equal([]int{65532, 65532}))
			continue
		}
		g.Expect([]int{hdr.Uid, hdr.Gid}).To(Equal([]int{0, 0}), n)
	}
	g.Expect(string(passwd)).To(ContainSubstring("nonroot:x:65532:65532:"))

	certs := 0
	for rest := ca; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			g.Expect(strings.TrimSpace(string(rest))).To(BeEmpty(), "trailing bytes in the CA bundle")
			break
		}
		_, err := x509.ParseCertificate(block.Bytes)
		g.Expect(err).NotTo(HaveOccurred())
		certs++
	}
	g.Expect(certs).To(BeNumerically(">", 100))
}

// hello is a tiny component (compiles in seconds for any platform), so the
// multi-platform and push tests do not cross-compile the controllers.
var hello = imagebuild.Component{Name: "hello", Package: "./pkg/imagebuild/testdata/hello", Entrypoint: "/hello", Description: "test"}

// TestImagesPushIndex builds a two-platform index, pushes it to an
// in-process registry and reads it back by digest.
func TestImagesPushIndex(t *testing.T) {
	g := NewWithT(t)
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	opts := imagebuild.Options{Root: repoRoot(t), Components: []imagebuild.Component{hello},
		Registry: reg.Host() + "/team/gotk", Version: "v1.2.3", Created: created, OutDir: t.TempDir(), Push: true}
	res, err := imagebuild.Build(context.Background(), opts)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Tarballs).To(HaveLen(2))
	g.Expect(res.Images).To(HaveLen(1))
	built := res.Images[0]
	g.Expect(built.Manifests).To(HaveLen(2))

	ref, err := name.NewDigest(reg.Host() + "/team/gotk/hello@" + built.Index.String())
	g.Expect(err).NotTo(HaveOccurred())
	idx, err := remote.Index(ref)
	g.Expect(err).NotTo(HaveOccurred())
	im, err := idx.IndexManifest()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(im.MediaType)).To(Equal("application/vnd.oci.image.index.v1+json"))
	g.Expect(im.Annotations).To(HaveKeyWithValue(imagebuild.LabelVersion, "v1.2.3"))
	g.Expect(im.Manifests).To(HaveLen(2))
	for _, d := range im.Manifests {
		p := d.Platform.OS + "/" + d.Platform.Architecture
		g.Expect(built.Manifests).To(HaveKeyWithValue(p, d.Digest), p)
		img, err := idx.Image(d.Digest)
		g.Expect(err).NotTo(HaveOccurred())
		cf, err := img.ConfigFile()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cf.OS + "/" + cf.Architecture).To(Equal(p))
		m, err := img.Manifest()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(m.Annotations).To(HaveKeyWithValue(imagebuild.LabelTitle, "hello"))
	}
	// The tag points at the same index.
	tagged, err := remote.Index(built.Ref)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tagged.Digest()).To(Equal(built.Index))
}

// TestImagesBadOptions: each bad option is one clear error before any build.
func TestImagesBadOptions(t *testing.T) {
	root := repoRoot(t)
	tests := []struct {
		name string
		opts imagebuild.Options
		want string
	}{
		{"no root", imagebuild.Options{}, "Options.Root is required"},
		{"not linux", imagebuild.Options{Root: root, Platforms: []string{"darwin/arm64"}}, `platform "darwin/arm64": want linux/<arch>`},
		{"no arch", imagebuild.Options{Root: root, Platforms: []string{"linux"}}, `platform "linux"`},
		{"bad tag", imagebuild.Options{Root: root, Version: "v1 2"}, `version "v1 2" do not make an image reference`},
		{"relative entrypoint", imagebuild.Options{Root: root, Components: []imagebuild.Component{{Name: "x", Package: "./x", Entrypoint: "x"}}}, "absolute entrypoint"},
		{"twice", imagebuild.Options{Root: root, Components: []imagebuild.Component{hello, hello}}, `component "hello" twice`},
		{"same binary name", imagebuild.Options{Root: root, Components: []imagebuild.Component{hello, {Name: "other", Package: "./x/hello", Entrypoint: "/o"}}},
			`both build a binary named "hello"`},
		{"empty helper", imagebuild.Options{Root: root, Components: []imagebuild.Component{{Name: "x", Package: "./x", Entrypoint: "/x", Helpers: []string{""}}}}, "empty helper package"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := imagebuild.Build(context.Background(), tt.opts)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring(tt.want)))
		})
	}
	_, err := imagebuild.ComponentsByName([]string{"source-controller", "flux"})
	NewWithT(t).Expect(err).To(MatchError(`unknown component "flux" (known: source-controller, kustomize-controller, helm-controller, image-automation-controller, notification-controller, gotk, gotk-test)`))
}
