package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"gotk.dev/pkg/artifact/tarball"
	"gotk.dev/pkg/oci"
	"gotk.dev/pkg/testserver"
)

// TestArtifactPushPullTagList drives push, tag, list and pull artifact
// against a real OCI registry with credentials, and reads the pushed
// manifest as an OCIRepository would: Flux's media types and annotations.
func TestArtifactPushPullTagList(t *testing.T) {
	g := NewWithT(t)
	creds := testserver.BasicAuth{Username: "bot", Password: "s3cret"}
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: creds})
	src := writeFiles(t, map[string]string{"deploy.yaml": "kind: Deployment\n", "svc.yaml": "kind: Service\n"})
	url := "oci://" + reg.Host() + "/team/manifests"
	auth := []string{"--creds", "bot:s3cret", "--insecure-registry"}

	out, err := run(t, append([]string{"push", "artifact", url + ":v1.0.0", "--path", src,
		"--source", "https://github.com/org/repo", "--revision", "main@sha1:0123abc", "--annotations", "team=web"}, auth...)...)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchRegexp(`✔ artifact successfully pushed to .*/team/manifests@sha256:[0-9a-f]{64}`))

	ref, err := name.ParseReference(reg.Host()+"/team/manifests:v1.0.0", name.Insecure)
	g.Expect(err).NotTo(HaveOccurred())
	img, err := oci.Image(context.Background(), ref, oci.Options{Auth: &authn.Basic{Username: "bot", Password: "s3cret"}, Insecure: true})
	g.Expect(err).NotTo(HaveOccurred())
	m, err := img.Manifest()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(m.Config.MediaType)).To(Equal(oci.FluxConfigMediaType))
	g.Expect(m.Layers).To(HaveLen(1))
	g.Expect(string(m.Layers[0].MediaType)).To(Equal(oci.FluxContentMediaType))
	g.Expect(m.Annotations).To(HaveKeyWithValue(oci.SourceAnnotation, "https://github.com/org/repo"))
	g.Expect(m.Annotations).To(HaveKeyWithValue(oci.RevisionAnnotation, "main@sha1:0123abc"))
	g.Expect(m.Annotations).To(HaveKeyWithValue("team", "web"))
	g.Expect(m.Annotations).To(HaveKey(oci.CreatedAnnotation))

	out, err = run(t, append([]string{"tag", "artifact", url + ":v1.0.0", "--tag", "latest", "--tag", "stable"}, auth...)...)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("/team/manifests:stable"))

	out, err = run(t, append([]string{"list", "artifacts", url}, auth...)...)
	g.Expect(err).NotTo(HaveOccurred())
	lines := strings.Split(strings.TrimSpace(out), "\n")
	g.Expect(strings.Fields(lines[0])).To(Equal([]string{"ARTIFACT", "DIGEST", "SOURCE", "REVISION"}))
	g.Expect(lines).To(HaveLen(4))
	for _, l := range lines[1:] {
		g.Expect(strings.Fields(l)[2:]).To(Equal([]string{"https://github.com/org/repo", "main@sha1:0123abc"}))
	}
	out, err = run(t, append([]string{"list", "artifacts", url, "--filter-semver", ">=1.0.0"}, auth...)...)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.Split(strings.TrimSpace(out), "\n")).To(HaveLen(2))

	dst := filepath.Join(t.TempDir(), "out")
	out, err = run(t, append([]string{"pull", "artifact", url + ":stable", "--output", dst}, auth...)...)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("✔ revision main@sha1:0123abc"))
	for name, want := range map[string]string{"deploy.yaml": "kind: Deployment\n", "svc.yaml": "kind: Service\n"} {
		got, err := os.ReadFile(filepath.Join(dst, name))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(got)).To(Equal(want))
	}

	_, err = run(t, "pull", "artifact", url+":stable", "--output", dst, "--insecure-registry")
	g.Expect(err).To(HaveOccurred(), "pulling without credentials")
	_, err = run(t, "push", "artifact", reg.Host()+"/x:v1", "--path", src, "--source", "s", "--revision", "r")
	g.Expect(err).To(MatchError(ContainSubstring("must start with oci://")))
	_, err = run(t, "push", "artifact", url+":v1", "--path", src)
	g.Expect(err).To(MatchError(ContainSubstring("--path, --source and --revision are required")))
}

// TestArtifactBuildDiff builds a directory's tarball and diffs the
// directory against a pushed artifact before and after a change.
func TestArtifactBuildDiff(t *testing.T) {
	g := NewWithT(t)
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	src := writeFiles(t, map[string]string{"cm.yaml": "kind: ConfigMap\n"})
	url := "oci://" + reg.Host() + "/app:v1"

	tgz := filepath.Join(t.TempDir(), "a.tgz")
	out, err := run(t, "build", "artifact", "--path", src, "--output", tgz)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("✔ artifact created at " + tgz))
	extracted := t.TempDir()
	f, err := os.Open(tgz)
	g.Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	g.Expect(tarball.Untar(f, extracted, tarball.DefaultLimits())).To(Succeed())
	g.Expect(filepath.Join(extracted, "cm.yaml")).To(BeAnExistingFile())

	_, err = run(t, "push", "artifact", url, "--path", src, "--source", "s", "--revision", "r", "--insecure-registry")
	g.Expect(err).NotTo(HaveOccurred())
	out, err = run(t, "diff", "artifact", url, "--path", src, "--insecure-registry")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("no changes detected"))

	g.Expect(os.WriteFile(filepath.Join(src, "cm.yaml"), []byte("kind: Secret\n"), 0o644)).To(Succeed())
	_, err = run(t, "diff", "artifact", url, "--path", src, "--insecure-registry")
	var exit *ExitCodeError
	g.Expect(errors.As(err, &exit)).To(BeTrue(), "%v", err)
	g.Expect(exit.Code).To(Equal(1))
}

// TestArtifactProvider logs in to Artifact Registry with --provider gcp
// (the metadata server's token, through pkg/cloudauth) for every artifact
// command; the registry, reached under its Google host name through an
// HTTP proxy from the environment, accepts only that token. Unknown
// providers, another cloud's registry and --creds with a provider are
// refused with their reason.
func TestArtifactProvider(t *testing.T) {
	g := NewWithT(t)
	const token, garHost = "gar-access-token", "europe-west1-docker.pkg.dev"
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: testserver.BasicAuth{Username: "oauth2accesstoken", Password: token}})
	proxy := testserver.NewForwardProxyForTest(t, reg.Host())
	testserver.IsolateCloudEnv(t)
	cloud := testserver.NewCloudTokensForTest(t, token)
	t.Setenv("GCE_METADATA_HOST", cloud.MetadataHost)
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(k, "")
	}
	t.Setenv("HTTP_PROXY", proxy.URL)
	src := writeFiles(t, map[string]string{"app.yaml": "kind: ConfigMap\n"})
	url := "oci://" + garHost + "/project/repo/app"
	gcp := []string{"--provider", "gcp", "--insecure-registry"}

	steps := []struct {
		name string
		args []string
		want string
	}{
		{"push", []string{"push", "artifact", url + ":v1", "--path", src, "--source", "s", "--revision", "r"}, "✔ artifact successfully pushed to " + garHost},
		{"tag", []string{"tag", "artifact", url + ":v1", "--tag", "stable"}, garHost + "/project/repo/app:stable"},
		{"list", []string{"list", "artifacts", url}, garHost + "/project/repo/app:v1"},
		{"diff", []string{"diff", "artifact", url + ":stable", "--path", src}, "no changes detected"},
		{"pull", []string{"pull", "artifact", url + ":stable", "--output", t.TempDir()}, "✔ revision r"},
	}
	for _, s := range steps {
		out, err := run(t, append(s.args, gcp...)...)
		g.Expect(err).NotTo(HaveOccurred(), s.name)
		g.Expect(out).To(ContainSubstring(s.want), s.name)
	}
	g.Expect(cloud.Calls()).To(ContainElement("metadata:default"))
	g.Expect(proxy.Proxied(garHost)).To(BeTrue())

	_, err := run(t, "list", "artifacts", url, "--insecure-registry")
	g.Expect(oci.IsAuthError(err)).To(BeTrue(), "listing without the provider login: %v", err)

	refused := []struct {
		name string
		args []string
		err  string
	}{
		{"unknown provider", []string{"--provider", "oracle"}, `--provider "oracle" is not supported: use generic, aws, azure or gcp`},
		{"another cloud's registry", []string{"--provider", "aws"}, `"europe-west1-docker.pkg.dev" is not an Amazon ECR registry`},
		{"creds with a provider", []string{"--provider", "gcp", "--creds", "a:b"}, "--creds works with --provider generic only"},
	}
	for _, r := range refused {
		_, err := run(t, append([]string{"list", "artifacts", url}, r.args...)...)
		g.Expect(err).To(MatchError(ContainSubstring(r.err)), r.name)
	}
}

// TestArtifactIgnoreOutputReproducible pushes with --ignore-paths,
// --reproducible and --output json|yaml: ignored files are not in the
// artifact (nor in build's tarball, nor compared by diff), two pushes of
// the same content have one digest, and the printed fields match it.
func TestArtifactIgnoreOutputReproducible(t *testing.T) {
	g := NewWithT(t)
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{})
	src := writeFiles(t, map[string]string{"app.yaml": "kind: ConfigMap\n", "local.env": "TOKEN=x\n"})
	for _, p := range []string{"tmp/run.log", "docs/tmp.md"} {
		g.Expect(os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)).To(Succeed())
		g.Expect(os.WriteFile(filepath.Join(src, p), []byte("x\n"), 0o644)).To(Succeed())
	}
	url := "oci://" + reg.Host() + "/app"
	push := []string{"--path", src, "--source", "s", "--revision", "r", "--insecure-registry", "--ignore-paths", "*.env,/tmp/", "--reproducible"}

	out, err := run(t, append([]string{"push", "artifact", url + ":v1", "-o", "json"}, push...)...)
	g.Expect(err).NotTo(HaveOccurred())
	var first pushedArtifact
	g.Expect(json.Unmarshal([]byte(out), &first)).To(Succeed(), out)
	g.Expect(first.Digest).To(MatchRegexp(`^sha256:[0-9a-f]{64}$`))
	g.Expect(first).To(Equal(pushedArtifact{URL: url + "@" + first.Digest, Repository: reg.Host() + "/app", Tag: "v1", Digest: first.Digest}))

	out, err = run(t, append([]string{"push", "artifact", url + ":v2", "--output", "yaml"}, push...)...)
	g.Expect(err).NotTo(HaveOccurred())
	var second pushedArtifact
	g.Expect(yaml.Unmarshal([]byte(out), &second)).To(Succeed(), out)
	g.Expect(second.Tag).To(Equal("v2"))
	g.Expect(second.Digest).To(Equal(first.Digest), "reproducible pushes of the same content")

	ref, err := name.ParseReference(reg.Host()+"/app:v1", name.Insecure)
	g.Expect(err).NotTo(HaveOccurred())
	img, err := oci.Image(context.Background(), ref, oci.Options{Insecure: true})
	g.Expect(err).NotTo(HaveOccurred())
	m, err := img.Manifest()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.Annotations).To(HaveKeyWithValue(oci.CreatedAnnotation, "1970-01-01T00:00:00Z"))

	dst := t.TempDir()
	_, err = run(t, "pull", "artifact", url+":v1", "--output", dst, "--insecure-registry")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(listFiles(t, dst)).To(Equal([]string{"app.yaml", "docs/tmp.md"}))

	out, err = run(t, "diff", "artifact", url+":v1", "--path", src, "--insecure-registry", "--ignore-paths", "*.env,/tmp/")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring("no changes detected"))
	_, err = run(t, "diff", "artifact", url+":v1", "--path", src, "--insecure-registry")
	var exit *ExitCodeError
	g.Expect(errors.As(err, &exit)).To(BeTrue(), "diff without --ignore-paths: %v", err)

	tgz := filepath.Join(t.TempDir(), "a.tgz")
	_, err = run(t, "build", "artifact", "--path", src, "--output", tgz, "--ignore-paths", "*.env", "--ignore-paths", "docs/")
	g.Expect(err).NotTo(HaveOccurred())
	f, err := os.Open(tgz)
	g.Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	extracted := t.TempDir()
	g.Expect(tarball.Untar(f, extracted, tarball.DefaultLimits())).To(Succeed())
	g.Expect(listFiles(t, extracted)).To(Equal([]string{"app.yaml", "tmp/run.log"}))

	out, err = run(t, "push", "artifact", url+":v3", "--path", src, "--source", "s", "--revision", "r", "--insecure-registry", "-o", "json")
	g.Expect(err).NotTo(HaveOccurred())
	var plain pushedArtifact
	g.Expect(json.Unmarshal([]byte(out), &plain)).To(Succeed(), out)
	g.Expect(plain.Digest).NotTo(Equal(first.Digest), "without --ignore-paths and --reproducible")
	_, err = run(t, append([]string{"push", "artifact", url + ":v4", "-o", "xml"}, push...)...)
	g.Expect(err).To(MatchError(`--output "xml" is not supported: use json or yaml`))
}

// listFiles returns the regular files under dir, slash-separated and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}
