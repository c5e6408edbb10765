package oci

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/testserver"
)

// pushTags pushes one random image under every tag.
func pushTags(t testing.TB, repo name.Repository, auth authn.Authenticator, tags ...string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if err := remote.Write(repo.Tag(tag), img, remote.WithAuth(auth)); err != nil {
			t.Fatalf("push %s: %v", tag, err)
		}
	}
	return img
}

func TestScanPagesFiltersAndResolves(t *testing.T) {
	creds := testserver.BasicAuth{Username: "bot", Password: "s3cret"}
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{Auth: creds})
	repo, err := ParseRepository(reg.Host()+"/team/app", true)
	if err != nil {
		t.Fatal(err)
	}
	auth := &authn.Basic{Username: creds.Username, Password: creds.Password}
	img := pushTags(t, repo, auth, "1.0.0", "1.1.0", "1.1.0.sig", "v2.0.0", "latest", "sha256-abc.sig")

	x, err := CompileExclusions(imagev1.DefaultExclusionList)
	if err != nil {
		t.Fatal(err)
	}
	before := reg.TagListRequests()
	res, err := Scan(context.Background(), repo, Options{Auth: auth, PageSize: 2}, x)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1.0.0", "1.1.0", "latest", "v2.0.0"}; !slices.Equal(res.Tags, want) || res.Listed != 6 {
		t.Fatalf("tags = %v (listed %d), want %v", res.Tags, res.Listed, want)
	}
	if pages := reg.TagListRequests() - before; pages != 3 {
		t.Fatalf("tag list requests = %d, want 3 pages of 2", pages)
	}

	d, err := Digest(context.Background(), repo, "1.1.0", Options{Auth: auth})
	want, _ := img.Digest()
	if err != nil || d != want.String() {
		t.Fatalf("digest = %q, %v; want %s", d, err, want)
	}

	// Wrong or missing credentials are an authentication error naming the registry.
	for _, a := range []authn.Authenticator{nil, &authn.Basic{Username: "bot", Password: "nope"}} {
		_, err := Scan(context.Background(), repo, Options{Auth: a}, x)
		if !IsAuthError(err) {
			t.Fatalf("auth %v: err = %v, want an authentication error", a, err)
		}
		if !strings.Contains(err.Error(), reg.Host()) || strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error %q should name the registry and no secret", err)
		}
	}
}

func TestScanTLSWithCA(t *testing.T) {
	reg := testserver.NewRegistryForTest(t, testserver.RegistryOptions{TLS: true})
	repo, err := ParseRepository(reg.Host()+"/secure", false)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(64, 1)
	if err := remote.Write(repo.Tag("1.0.0"), img, remote.WithTransport(reg.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := ListTags(ctx, repo, Options{}); err == nil {
		t.Fatal("listing without the CA succeeded")
	}
	cfg, err := TLSConfig(reg.CAPEM(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := ListTags(ctx, repo, Options{TLS: cfg})
	if err != nil || !slices.Equal(tags, []string{"1.0.0"}) {
		t.Fatalf("tags = %v, %v", tags, err)
	}
}

func TestParseRepository(t *testing.T) {
	for _, tc := range []struct {
		image, canonical, err string
	}{
		{image: "alpine", canonical: "index.docker.io/library/alpine"},
		{image: "ghcr.io/myorg/my-app", canonical: "ghcr.io/myorg/my-app"},
		{image: "ghcr.io/myorg/my-app:v1", err: "without a tag or digest"},
		{image: "ghcr.io/My App", err: "invalid image"},
		{image: "", err: "invalid image"},
		{image: "u:leak-canary@127.0.0.1:5000/app", err: "credentials in the image reference are not allowed"},
		{image: "ghcr.io/myorg/my-app@sha256:0000", err: "invalid image"},
	} {
		repo, err := ParseRepository(tc.image, false)
		if err != nil && strings.Contains(err.Error(), "leak-canary") {
			t.Errorf("%q: the error quotes the credentials: %v", tc.image, err)
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.image, err, tc.err)
			}
			continue
		}
		if err != nil || repo.Name() != tc.canonical {
			t.Errorf("%q: %q, %v; want %q", tc.image, repo.Name(), err, tc.canonical)
		}
	}
}

func TestAuthFromDockerConfig(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte("alice:pw"))
	cfg := fmt.Sprintf(`{"auths":{"https://index.docker.io/v1/":{"auth":%q},"127.0.0.1:5000":{"username":"bob","password":"pw2"}}}`, b64)
	for _, tc := range []struct {
		host, user, pass string
		err              string
	}{
		{host: "index.docker.io", user: "alice", pass: "pw"},
		{host: "127.0.0.1:5000", user: "bob", pass: "pw2"},
		{host: "ghcr.io", err: "no credentials"},
	} {
		a, err := AuthFromDockerConfig([]byte(cfg), tc.host)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v", tc.host, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.host, err)
		}
		ac, _ := a.Authorization()
		if ac.Username != tc.user || ac.Password != tc.pass {
			t.Errorf("%s: got %s/%s", tc.host, ac.Username, ac.Password)
		}
	}
	for _, bad := range []string{`{"auths":`, `{"auths":{"h":{"auth":"%%%"}}}`, `{"auths":{"h":{"auth":"bm9jb2xvbg=="}}}`, `{"auths":[1]}`} {
		_, err := AuthFromDockerConfig([]byte(bad), "h")
		if err == nil || !strings.Contains(err.Error(), "malformed dockerconfigjson") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

func TestExclusionsAndSample(t *testing.T) {
	if _, err := CompileExclusions([]string{"^ok$", "(["}); err == nil || !strings.Contains(err.Error(), `"(["`) {
		t.Fatalf("err = %v, want it to name the bad expression", err)
	}
	x, _ := CompileExclusions([]string{`^.*\.sig$`, "^tmp-"})
	got := x.Filter([]string{"b", "a.sig", "tmp-1", "a", "b"})
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Filter = %v", got)
	}
	sorted := []string{"a", "b", "c"}
	if s := LatestTags(sorted, 2); !slices.Equal(s, []string{"c", "b"}) {
		t.Fatalf("LatestTags = %v", s)
	}
	if s := LatestTags(sorted, 10); len(s) != 3 {
		t.Fatalf("LatestTags = %v", s)
	}
	if Revision(sorted) == Revision([]string{"a", "b"}) || Revision(sorted) != Revision([]string{"a", "b", "c"}) {
		t.Fatal("Revision is not a function of the list")
	}
}

func FuzzAuthFromDockerConfig(f *testing.F) {
	f.Add([]byte(`{"auths":{"ghcr.io":{"username":"u","password":"p"}}}`), "ghcr.io")
	f.Add([]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}}}`), "docker.io")
	f.Add([]byte(`{"auths":{"h":{"auth":"!!"}}}`), "h")
	f.Add([]byte(`nul`), "")
	f.Fuzz(func(t *testing.T, data []byte, host string) {
		a, err := AuthFromDockerConfig(data, host)
		if err == nil && a == nil {
			t.Fatal("nil authenticator without an error")
		}
	})
}

func FuzzExclusions(f *testing.F) {
	f.Add(`^.*\.sig$`, "sha256-abc.sig")
	f.Add(`(`, "x")
	f.Add(`^v[0-9]+`, "v1")
	f.Fuzz(func(t *testing.T, expr, tag string) {
		x, err := CompileExclusions([]string{expr})
		if err != nil {
			return
		}
		kept := x.Filter([]string{tag, tag})
		if len(kept) > 1 || (len(kept) == 1) == x.Excluded(tag) {
			t.Fatalf("Filter(%q) with %q = %v", tag, expr, kept)
		}
	})
}
